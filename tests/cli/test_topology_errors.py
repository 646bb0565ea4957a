"""Bad topology input: exit status 2, file, line and field path, never a traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main

TINY_PATH = (
    next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
    / "topologies"
    / "tiny.yaml"
)
TINY = TINY_PATH.read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in text")


def run_show(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["topo", "show", str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


CASES = [
    # (name, replace this, with this, line marker in the new text, expected field path, message)
    (
        "yaml-syntax",
        "  - {id: FRA, name: Frankfurt, lat: 50.1109, lon: 8.6821}",
        "  - {id: FRA, name: Frankfurt, lat: 50.1109, lon: 8.6821",
        "id: TYO",
        "",
        "YAML syntax error",
    ),
    (
        "unknown-field",
        "{code: eu-west-2, city: London,",
        "{code: eu-west-2, cty: London,",
        "code: eu-west-2",
        "regions[1].cty",
        "unknown field 'cty' (did you mean 'city'?)",
    ),
    (
        "missing-parent",
        "parent: us-east-1}",
        "parent: us-east-7}",
        "us-east-1-nyc-1",
        "local_zones[0].parent",
        "parent region 'us-east-7' is not in regions",
    ),
    (
        "duplicate-code",
        "{code: ap-northeast-1, city: Tokyo,",
        "{code: eu-west-2, city: Tokyo,",
        "{code: eu-west-2, city: Tokyo,",
        "regions[2].code",
        "duplicate region code 'eu-west-2'",
    ),
    (
        "latitude-out-of-range",
        "{id: TYO, name: Tokyo, lat: 35.6762,",
        "{id: TYO, name: Tokyo, lat: 135.6762,",
        "id: TYO",
        "hubs[5].lat",
        "less than or equal to 90",
    ),
    (
        "longitude-out-of-range",
        "{id: SEA, name: Seattle, lat: 47.6062, lon: -122.3321}",
        "{id: SEA, name: Seattle, lat: 47.6062, lon: -222.3321}",
        "id: SEA",
        "hubs[6].lon",
        "greater than or equal to -180",
    ),
    (
        "link-to-missing-node",
        'b: "client:plant-floor"',
        'b: "client:plant-flor"',
        "client:plant-flor",
        "links[0].b",
        "link end 'client:plant-flor' is not a node",
    ),
    (
        "outpost-without-parent",
        "{id: plant-1, parent: eu-west-2, site:",
        "{id: plant-1, site:",
        "{id: plant-1, site:",
        "outposts[0].parent",
        "missing required field",
    ),
    (
        "outpost-parent-unknown",
        "{id: plant-1, parent: eu-west-2, site:",
        "{id: plant-1, parent: eu-west-9, site:",
        "parent: eu-west-9",
        "outposts[0].parent",
        "parent region 'eu-west-9' is not in regions",
    ),
    (
        "unknown-carrier",
        "parent: ap-northeast-1, carrier: kddi}",
        "parent: ap-northeast-1, carrier: docomo}",
        "carrier: docomo",
        "wavelength_zones[0].carrier",
        "unknown carrier 'docomo'",
    ),
    (
        "corridor-to-missing-hub",
        "{a: SEA, b: TYO, kind: submarine",
        "{a: SEA, b: TOKYO, kind: submarine",
        "b: TOKYO",
        "corridors[5].b",
        "no hub named 'TOKYO'",
    ),
    (
        "disconnected-hub",
        "  - {a: SEA, b: TYO, kind: submarine, note: transpacific cable}\n",
        "",
        "id: TYO",
        "hubs[5]",
        "not connected to the rest",
    ),
    (
        "bad-access",
        "population: 9500000, access: fibre",
        "population: 9500000, access: dialup",
        "id: london",
        "client_groups[1].access",
        "invalid value 'dialup'",
    ),
    (
        "wrong-version",
        "edgesim: 1",
        "edgesim: 2",
        "edgesim: 2",
        "edgesim",
        "invalid value 2",
    ),
    (
        "duplicate-key",
        "name: tiny\n",
        "name: tiny\nname: tiny2\n",
        "name: tiny2",
        "",
        "duplicate key",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "marker", "field", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_topology(
    write: Callable[[str, str], Path],
    name: str,
    old: str,
    new: str,
    marker: str,
    field: str,
    message: str,
) -> None:
    assert old in TINY
    text = TINY.replace(old, new, 1)
    path = write(f"{name}.yaml", text)
    code, out = run_show(path)
    assert code == 2, out
    flat = " ".join(out.split())
    assert message in flat
    m = re.search(re.escape(str(path)) + r":(\d+)", flat)
    assert m, f"no file:line in {out!r}"
    assert int(m.group(1)) == _line_of(text, marker), out
    if field:
        assert f": {field}: " in flat
    assert len(out.splitlines()) < 25  # one screen


def test_missing_file(tmp_path: Path) -> None:
    code, out = run_show(tmp_path / "nope.yaml")
    assert code == 2
    assert "file not found" in out


def test_unknown_builtin_world() -> None:
    result = CliRunner().invoke(main, ["topo", "show", "mars-world"])
    assert result.exit_code == 2
    assert "no built-in world named 'mars-world'" in result.output
    assert "aws-world" in result.output or "tiny" in result.output


def test_top_level_not_a_mapping(write: Callable[[str, str], Path]) -> None:
    code, out = run_show(write("list.yaml", "- just\n- a list\n"))
    assert code == 2
    assert "mapping at its top level" in out


def test_many_problems_are_all_reported(write: Callable[[str, str], Path]) -> None:
    text = TINY.replace("lat: 35.6762,", "lat: 95,").replace("access: fibre", "access: x")
    code, out = run_show(write("many.yaml", text))
    assert code == 2
    assert out.count("expected") >= 3
