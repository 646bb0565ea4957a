"""Run a scenario from Python: ``run_scenario("s.yaml").latency(group="tokyo").p99``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgesim.scenario.loader import prepare_file
from edgesim.sim.engine import Progress
from edgesim.sim.report import build_report
from edgesim.sim.results import Results


def run_scenario(
    path: str | Path,
    *,
    seed: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    threads: int | None = None,
) -> Results:
    """Load, check, run and report a scenario file. Raises :class:`edgesim.InputError`.

    ``should_stop`` is asked between chunks of virtual time; when it returns true the run
    ends there and its report has ``"complete": false``. ``threads``: see
    :meth:`edgesim.sim.engine.Run.execute` (the report is the same for any number)."""
    run = prepare_file(path, seed=seed)
    run.execute(on_progress, should_stop, threads=threads)
    results = Results(run)
    results.report = build_report(results)
    return results
