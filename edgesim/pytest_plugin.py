"""pytest plugin (entry point ``pytest11``): run scenarios from a user's own test suite.

::

    def test_tokyo_stays_fast(edgesim_run):
        result = edgesim_run("scenarios/shop-launch.yaml")
        assert result.latency(group="tokyo", workload="web").p99 < 120  # ms
        assert result.availability(workload="api") >= 0.995

Runs are deterministic (the scenario's seed) and cached per session, so several tests can
query one run. A scenario with bad input fails the test with edgesim's one-screen message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from edgesim.sim.results import Results

RunScenario = Callable[..., "Results"]


@pytest.fixture(scope="session")
def edgesim_run(request: pytest.FixtureRequest) -> RunScenario:
    """Run a scenario file (relative paths are taken from pytest's root directory)."""
    cache: dict[tuple[str, int | None], Any] = {}
    root = Path(str(request.config.rootpath))

    def run(path: str | Path, *, seed: int | None = None) -> Results:
        # imported here so that loading the plugin does not import edgesim
        from edgesim.errors import InputError
        from edgesim.sim.api import run_scenario

        p = Path(path)
        if not p.is_absolute() and not p.exists():
            p = root / p
        key = (str(p.resolve()), seed)
        if key not in cache:
            try:
                cache[key] = run_scenario(p, seed=seed)
            except InputError as exc:
                pytest.fail(f"edgesim scenario error:\n{exc.render()}", pytrace=False)
        result: Results = cache[key]
        return result

    return run
