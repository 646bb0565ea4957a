from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.latency import region_to_region
from edgesim.topology import World, load_world
from edgesim.yamlio import load_yaml_file

TINY_PATH = (
    next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
    / "topologies"
    / "tiny.yaml"
)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_version() -> None:
    code, out = invoke("--version")
    assert code == 0
    assert "edgesim" in out


def test_topo_show_tiny() -> None:
    code, out = invoke("topo", "show", "tiny")
    assert code == 0
    assert "regions" in out
    assert "us-east-1" in out


def test_topo_show_json_counts(tiny: World) -> None:
    code, out = invoke("topo", "show", "tiny", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["nodes"]["region"] == 3
    assert data["nodes"]["pop"] == 5
    assert data["regional_edge_caches"] == 1
    assert data["links"]["lan"] == 1


def test_topo_path_json_matches_library(tiny: World) -> None:
    code, out = invoke("topo", "path", "tiny", "us-east-1", "ap-northeast-1", "--json")
    assert code == 0
    data = json.loads(out)
    expected = region_to_region(tiny, "region:us-east-1", "region:ap-northeast-1")
    assert data["rtt_ms"] == pytest.approx(expected.rtt_ms, abs=1e-3)
    assert data["one_way_ms"] == pytest.approx(data["rtt_ms"] / 2, abs=1e-3)
    assert sum(h["one_way_ms"] for h in data["hops"]) == pytest.approx(data["one_way_ms"], abs=0.01)


def test_topo_path_table() -> None:
    code, out = invoke("topo", "path", "tiny", "london", "us-east-1", "--via", "backbone")
    assert code == 0
    assert "round trip" in out
    assert "backbone" in out
    assert "fibre floor" in out


def test_topo_path_access_override() -> None:
    _, a = invoke("topo", "path", "tiny", "tokyo", "NRT57", "--json")
    _, b = invoke("topo", "path", "tiny", "tokyo", "NRT57", "--json", "--access", "4g")
    assert json.loads(b)["rtt_ms"] > json.loads(a)["rtt_ms"]


def test_topo_path_unknown_node() -> None:
    code, out = invoke("topo", "path", "tiny", "tokio", "us-east-1")
    assert code == 2
    assert "did you mean" in out
    assert "tokyo" in out


def test_topo_matrix_csv(tiny: World) -> None:
    code, out = invoke("topo", "matrix", "tiny", "--kind", "region")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["rtt_ms", "us-east-1", "eu-west-2", "ap-northeast-1"]
    table = {r[0]: dict(zip(rows[0][1:], map(float, r[1:]), strict=True)) for r in rows[1:]}
    assert table["us-east-1"]["us-east-1"] == pytest.approx(tiny.params.intra_region_rtt_ms)
    assert table["us-east-1"]["eu-west-2"] == pytest.approx(table["eu-west-2"]["us-east-1"])
    exp = region_to_region(tiny, "region:us-east-1", "region:eu-west-2").rtt_ms
    assert table["us-east-1"]["eu-west-2"] == pytest.approx(exp, abs=0.01)


def test_topo_matrix_to_file(tmp_path: Path) -> None:
    out_file = tmp_path / "m.csv"
    code, _ = invoke(
        "topo", "matrix", "tiny", "--kind", "client", "--to-kind", "pop", "-o", str(out_file)
    )
    assert code == 0
    rows = list(csv.reader(out_file.open()))
    assert len(rows) == 1 + 5
    assert len(rows[0]) == 1 + 4  # edge tier only


def test_topo_map_png(tmp_path: Path) -> None:
    out_file = tmp_path / "map.png"
    code, _ = invoke("topo", "map", "tiny", "-o", str(out_file))
    assert code == 0
    assert out_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_topo_map_bad_extension(tmp_path: Path) -> None:
    code, out = invoke("topo", "map", "tiny", "-o", str(tmp_path / "map.gif"))
    assert code == 2
    assert ".png" in out


def test_schema_validates_tiny() -> None:
    code, out = invoke("schema", "topology")
    assert code == 0
    schema = json.loads(out)
    data, _ = load_yaml_file(TINY_PATH)
    jsonschema.validate(data, schema)
    bad = dict(data, regions=[{"code": "x"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_load_world_from_path_equals_builtin() -> None:
    a = load_world("tiny")
    b = load_world(str(TINY_PATH))
    assert a.counts() == b.counts()
