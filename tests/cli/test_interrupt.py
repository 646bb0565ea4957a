"""Ctrl-C in the batch commands (run, check, sweep, place): the engine takes a stop callback,
only the CLI handles signals; exit 130, nothing reported complete that is not, a second Ctrl-C
stops at once. The subprocess tests synchronise on the command's own output lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edgesim.cli.common import INTERRUPTED_EXIT, Interrupt

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
LONG = (
    (ROOT / "scenarios" / "smoke.yaml")
    .read_text(encoding="utf-8")
    .replace("duration: 5m", "duration: 48h")
)
CLI = [sys.executable, "-c", "from edgesim.cli import main; main(prog_name='edgesim')"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str) -> list[str]:
    """Read stderr until a line contains ``needle`` (the process's own signal that it is at
    the point the test wants)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"never printed {needle!r}: {''.join(seen)}")


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)  # a hang guard, not a speed check
    return proc.returncode, out, err


def test_first_interrupt_asks_to_stop_second_exits_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exits: list[int] = []

    def fake_exit(code: int) -> None:
        exits.append(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    stop = Interrupt()
    assert stop() is False
    stop.handle(signal.SIGINT, None)
    assert stop() is True
    assert exits == []
    assert "Ctrl-C again" in capsys.readouterr().err
    stop.handle(signal.SIGINT, None)
    assert exits == [INTERRUPTED_EXIT] == [130]


@pytest.mark.slow
def test_ctrl_c_during_run_exits_130_with_an_incomplete_report(tmp_path: Path) -> None:
    (tmp_path / "long.yaml").write_text(LONG, encoding="utf-8")
    proc = _start(["run", "long.yaml", "--json", "out.json", "--html", "out.html"], tmp_path)
    _wait_for_line(proc, "running long.yaml")
    proc.send_signal(signal.SIGINT)
    code, out, err = _finish(proc)
    assert code == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert report["complete"] is False
    assert "INCOMPLETE" in (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "INCOMPLETE" in out


@pytest.mark.slow
def test_ctrl_c_during_sweep_marks_every_cut_variant_incomplete(tmp_path: Path) -> None:
    (tmp_path / "long.yaml").write_text(LONG, encoding="utf-8")
    proc = _start(["sweep", "long.yaml", "--vary", "duration=6m,48h,48h", "--out", "out"], tmp_path)
    _wait_for_line(proc, "1/3 done")  # variant 0 (six minutes) has finished
    proc.send_signal(signal.SIGINT)
    code, _out, err = _finish(proc)
    assert code == 130, err
    assert "Traceback" not in err
    doc: dict[str, Any] = json.loads((tmp_path / "out" / "sweep.json").read_text("utf-8"))
    assert doc["complete"] is False
    status = [v["status"] for v in doc["variants"]]
    assert status == ["ok", "incomplete", "incomplete"]
    assert "incomplete" in (tmp_path / "out" / "sweep.csv").read_text(encoding="utf-8")
    assert "INCOMPLETE" in (tmp_path / "out" / "sweep.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_ctrl_c_during_check_compares_nothing(tmp_path: Path) -> None:
    (tmp_path / "long.yaml").write_text(LONG, encoding="utf-8")
    base = subprocess.run(
        [*CLI, "run", str(ROOT / "scenarios" / "smoke.yaml"), "-q", "--save-baseline", "b.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert base.returncode == 0, base.stderr
    proc = _start(["check", "long.yaml", "--baseline", "b.json"], tmp_path)
    _wait_for_line(proc, "running long.yaml")
    proc.send_signal(signal.SIGINT)
    code, out, err = _finish(proc)
    assert code == 130, err
    assert "nothing compared" in err
    assert "OK" not in out
    assert "worse than the baseline" not in out


def test_place_cut_short_reports_its_finalists_incomplete() -> None:
    from edgesim.sweep.core import load_base
    from edgesim.sweep.placement import place

    base = load_base(ROOT / "scenarios" / "placement-template.yaml")
    result = place(
        base,
        k=1,
        finalists=2,
        base_dir=ROOT / "scenarios",
        should_stop=lambda: True,
    )
    assert result.complete is False
    assert result.as_dict()["complete"] is False
    assert [f["status"] for f in result.finalists] == ["incomplete", "incomplete"]


def test_a_sweep_runner_never_reports_an_interrupted_task_ok() -> None:
    from edgesim.sweep.executors import InProcessExecutor, TaskRunner

    calls: list[int] = []

    def task_fn(task: dict[str, Any], should_stop: Any = None) -> dict[str, Any]:
        calls.append(task["variant"])
        return {"variant": task["variant"], "seed": task["seed"], "ok": True, "metrics": {}}

    runner = TaskRunner(InProcessExecutor(), should_stop=lambda: len(calls) >= 1)
    tasks = [{"variant": i, "seed": 1} for i in range(3)]
    out = runner.run(task_fn, tasks, 3)
    assert runner.interrupted
    assert [r["ok"] for r in out] == [True, False, False]
    assert all(r.get("incomplete") for r in out[1:])
