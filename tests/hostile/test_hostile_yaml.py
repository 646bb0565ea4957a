"""Hostile YAML: a "billion laughs" file of each kind the CLI reads is refused with exit
status 2, naming the file and line, before anything expands it (issue 17, item 3).

Each bomb runs the real CLI in a child process with its address space capped at 1 GiB and a
time bound, so a regression fails here instead of exhausting the machine.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from edgesim.errors import InputError
from edgesim.scenario.loader import load_scenario_text
from edgesim.yamlio import MAX_DEPTH, check_limits, load_yaml_text, safe_load_text

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "import sys; from edgesim.cli import main; main(sys.argv[1:])"
LIMIT_BYTES = 1 << 30


def laughs(indent: str = "", levels: int = 9) -> str:
    """The classic nested-anchor bomb: 9 aliases per level, 9**levels strings expanded."""
    out = [f'{indent}lol1: &lol1 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(2, levels + 1):
        refs = ",".join([f"*lol{i - 1}"] * 9)
        out.append(f"{indent}lol{i}: &lol{i} [{refs}]")
    return "\n".join(out) + "\n"


def _cap() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        preexec_fn=_cap,
    )


SCENARIO_HEAD = "name: bomb\nworld: tiny\nseed: 1\n"
BOMBS = {
    # kind: (file name, text, command line (FILE stands for the file), line of the bomb)
    "scenario": ("s.yaml", SCENARIO_HEAD + laughs(), ["run", "FILE"]),
    "topology": ("world.yaml", "name: bomb\n" + laughs(), ["topo", "show", "FILE"]),
    "cloudformation": (
        "template.yaml",
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\nMetadata:\n" + laughs("  "),
        ["import", "cloudformation", "FILE", "-o", "out.yaml"],
    ),
    "sweep variants": (
        "variants.yaml",
        "- seed: 1\n  extra:\n" + laughs("    "),
        ["sweep", str(ROOT / "scenarios" / "quickstart.yaml"), "--variants", "FILE", "-q"],
    ),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_billion_laughs_is_refused_with_exit_2_and_its_line(kind: str, tmp_path: Path) -> None:
    name, text, args = BOMBS[kind]
    assert len(text.encode()) < 1200  # a few hundred bytes that would expand to 9**9 nodes
    (tmp_path / name).write_text(text, encoding="utf-8")
    out = cli(*[name if a == "FILE" else a for a in args], cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if "*lol" in line]
    # the message names the file and a line that holds one of the aliases
    assert f"{name}:" in out.stderr
    where = out.stderr.split(f"{name}:", 1)[1].split(":", 1)[0]
    assert int(where) in lines, out.stderr
    assert "aliases" in out.stderr
    assert not (tmp_path / "out.yaml").exists()


def test_the_bomb_is_refused_by_the_loader_itself() -> None:
    with pytest.raises(InputError) as err:
        load_yaml_text(SCENARIO_HEAD + laughs(), "s.yaml")
    problem = err.value.problems[0]
    assert problem.line is not None
    assert 4 <= problem.line <= 12
    assert "1,000,000" in problem.message


def test_aliases_within_the_limit_still_work() -> None:
    text = (
        "name: aliases\nworld: tiny\nseed: 1\nduration: 1m\n"
        "clients: &c {groups: all}\n"
        "x-copy: *c\n"
        "base: &b [1, 2, 3]\nmore: [*b, *b, *b]\n"
    )
    data, _ = load_yaml_text(text, "ok.yaml")
    assert data["x-copy"] == {"groups": "all"}
    assert data["more"] == [[1, 2, 3]] * 3
    # a small bomb (9**4 = 6,561 strings) is within the limit: aliases are not refused as such
    data, _ = load_yaml_text(laughs(levels=4), "small.yaml")
    assert len(data["lol4"]) == 9
    assert len(data["lol4"][0][0]) == 9


def test_a_scenario_using_anchors_loads() -> None:
    text = (ROOT / "scenarios" / "smoke.yaml").read_text(encoding="utf-8")
    text = text.replace("target: endpoint:api-use1", "target: &ep endpoint:api-use1")
    text = text.replace("fail: endpoint:api-use1", "fail: *ep").replace(
        "recover: endpoint:api-use1", "recover: *ep"
    )
    assert text.count("*ep") == 2
    scn, _, _ = load_scenario_text(text, "anchors.yaml")
    assert next(e.model_dump(exclude_none=True).get("fail") for e in scn.timeline) == (
        "endpoint:api-use1"
    )


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(InputError) as err:
        check_limits("a: &a\n  b: *a\n", "rec.yaml")
    assert "contains it" in err.value.problems[0].message
    assert err.value.problems[0].line == 2


def test_nesting_beyond_the_limit_is_refused_with_a_line() -> None:
    deep = "x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    with pytest.raises(InputError) as err:
        load_yaml_text(deep, "deep.yaml")
    assert err.value.problems[0].line == 1
    assert f"{MAX_DEPTH} levels" in err.value.problems[0].message


def test_nesting_through_aliases_counts_too() -> None:
    half = MAX_DEPTH // 2 + 1
    text = "a: &a " + "[" * half + "1" + "]" * half + "\nb: " + "[" * half + "*a" + "]" * half
    with pytest.raises(InputError) as err:
        check_limits(text + "\n", "deep.yaml")
    assert err.value.problems[0].line == 2
    assert "*a" in err.value.problems[0].message


def test_block_nesting_without_brackets_is_an_input_error() -> None:
    # "- - - - x" nests one sequence per dash, with no bracket or anchor for the quick check
    deep = "x:\n  " + "- " * 5000 + "1\n"
    with pytest.raises(InputError) as err:
        load_yaml_text(deep, "dashes.yaml")
    assert "nest" in err.value.render()


def test_side_files_are_bounded_too() -> None:
    with pytest.raises(InputError):
        safe_load_text("- " + laughs().replace("\n", "\n  "), "variants.yaml")
    assert safe_load_text("- {seed: 1}\n", "variants.yaml") == [{"seed": 1}]
