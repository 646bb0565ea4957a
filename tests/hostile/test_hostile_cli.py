"""Command-line hardening (issue 17, items 7 and 8): output paths are checked before a run
(so a run is never lost), no directory is created for an output file, output files are
written atomically, a bad control URL is an input error, and an unknown CloudFormation
resource type is named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_live import ROOT

from edgesim.cli import main
from edgesim.errors import InputError
from edgesim.outputs import atomic_write, check_output

SMOKE = ROOT / "scenarios" / "smoke.yaml"


def invoke(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a run starts: the output paths must be refused before."""

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the run started before its output paths were checked")

    monkeypatch.setattr("edgesim.sim.api.run_scenario", refuse)


@pytest.mark.usefixtures("no_run")
@pytest.mark.parametrize("option", ["--json", "--csv", "--html", "--save-baseline"])
def test_run_refuses_an_unwritable_output_before_running(option: str) -> None:
    code, out = invoke("run", str(SMOKE), option, "/proc/nope/x.out")
    assert code == 2
    assert option in out
    assert "/proc/nope" in out
    assert "Traceback" not in out


@pytest.mark.usefixtures("no_run")
def test_an_output_directory_is_not_created(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.html"
    code, out = invoke("run", str(SMOKE), "--html", str(target))
    assert code == 2
    assert "does not exist" in out
    assert not (tmp_path / "nonexistent").exists()
    code, out = invoke("run", str(SMOKE), "--json", str(tmp_path))  # a directory
    assert code == 2
    assert "is a directory" in out


def test_topo_outputs_are_checked_first(tmp_path: Path) -> None:
    code, out = invoke("topo", "matrix", "tiny", "-o", str(tmp_path / "no" / "m.csv"))
    assert code == 2
    assert "--output" in out
    assert not (tmp_path / "no").exists()
    code, out = invoke("topo", "map", "tiny", "-o", str(tmp_path / "no" / "m.png"))
    assert code == 2
    assert "--output" in out
    assert not (tmp_path / "no").exists()
    code, _out = invoke("topo", "matrix", "tiny", "-o", str(tmp_path / "m.csv"))
    assert code == 0
    assert (tmp_path / "m.csv").read_text().startswith("rtt_ms,")
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]  # no temporary file left


def test_a_run_writes_every_output_it_was_asked_for(tmp_path: Path) -> None:
    code, out = invoke(
        "run",
        str(SMOKE),
        "-q",
        "--json",
        str(tmp_path / "r.json"),
        "--csv",
        str(tmp_path / "r.csv"),
    )
    assert code in (0, 1), out  # 1: an assertion of the scenario failed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json"]


def test_atomic_write_leaves_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")

    def broken(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(InputError) as err:
        atomic_write(target, "new\n" * 1000)
    assert "No space left" in err.value.render()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


def test_import_cloudformation_output_is_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = ROOT / "scenarios" / "cloudformation" / "shop.yaml"
    target = tmp_path / "scenario.yaml"
    target.write_text("previous scenario\n")

    def broken(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    code, out = invoke("import", "cloudformation", str(template), "-o", str(target))
    assert code == 2
    assert "No space left" in out
    assert target.read_text() == "previous scenario\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scenario.yaml"]
    monkeypatch.undo()
    code, out = invoke("import", "cloudformation", str(template), "-o", str(target))
    assert code == 0, out
    assert "previous" not in target.read_text()


def test_check_output_accepts_stdout_and_names_the_option(tmp_path: Path) -> None:
    assert check_output(Path("-"), "--json") is None
    assert check_output(tmp_path / "ok.json", "--json") is None
    problem = check_output(tmp_path / "missing" / "x.json", "--json")
    assert problem is not None
    assert problem.path == "--json"


@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1/", "http://127.0.0.1:99999"])
def test_ctl_with_a_bad_url_is_an_input_error(url: str) -> None:
    code, out = invoke("ctl", "--url", url, "state")
    assert code == 2
    assert "--url" in out
    assert "Traceback" not in out


def test_an_unknown_resource_type_is_named(tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(
        "Resources:\n  Thing:\n    Type: AWS::Foo::Bar\n  Store:\n    Type: AWS::S3::Bukcet\n"
    )
    code, out = invoke("import", "cloudformation", str(template), "-o", str(tmp_path / "o.yaml"))
    assert code == 2
    assert "t.yaml:2:3: Resources.Thing (AWS::Foo::Bar): AWS::Foo::Bar is not a resource" in out
    assert "did you mean AWS::S3::Bucket?" in out
    assert not (tmp_path / "o.yaml").exists()


def test_an_output_directory_option_is_checked_not_created(tmp_path: Path) -> None:
    from edgesim.outputs import check_output_dir

    out = tmp_path / "a" / "b"
    check_output_dir(out, "--out")  # may be created when the results are written
    assert list(tmp_path.iterdir()) == []  # nothing created before the work, no probe left
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError) as err:
        check_output_dir(tmp_path / "file", "--out")
    assert "it is a file" in err.value.render()
    with pytest.raises(InputError) as err:
        check_output_dir(Path("/proc/nope/out"), "--out")
    assert "/proc/nope" in err.value.render()
