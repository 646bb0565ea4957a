"""One run on several threads gives the same report, byte for byte (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgesim.report.output import dumps
from edgesim.scenario.loader import load_scenario, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def report(path: Path, threads: int, duration_ns: int | None = None) -> str:
    scn, index, file = load_scenario(path)
    if duration_ns is not None:
        scn = scn.model_copy(update={"duration": duration_ns})
    run = prepare(scn, index, file, base_dir=path.parent)
    run.execute(threads=threads)
    results = Results(run)
    results.report = build_report(results)
    return dumps(results.report)


@pytest.mark.parametrize(
    ("path", "duration_ns"),
    [
        (ROOT / "scenarios" / "smoke.yaml", None),  # a failure and a recovery
        (ROOT / "bench" / "reference.yaml", 30_000_000_000),  # CloudFront, Route 53, 60k req
    ],
)
def test_same_bytes_for_any_number_of_threads(path: Path, duration_ns: int | None) -> None:
    one = report(path, 1, duration_ns)
    assert report(path, 2, duration_ns) == one
    assert report(path, 3, duration_ns) == one
