"""pytest plugin (entry point ``pytest11``): run scenarios from a user's own test suite.

::

    def test_tokyo_stays_fast(edgesim_run):
        result = edgesim_run("scenarios/shop-launch.yaml")
        assert result.latency(group="tokyo", workload="web").p99 < 120  # ms
        assert result.availability(workload="api") >= 0.995

Runs are deterministic (the scenario's seed) and cached per session, so several tests can
query one run. A scenario with bad input fails the test with edgesim's one-screen message.

A scenario's own ``assertions:`` are checked too, as ``edgesim run`` checks them (it exits 1
when one fails): the test fails, listing each assertion that does not hold with its value.
Pass ``check_assertions=False`` to look at such a run anyway (for instance to assert that a
bad configuration *is* slow), or set ``edgesim_check_assertions = false`` in the ini file to
change the default for a whole suite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from edgesim.sim.results import Results

RunScenario = Callable[..., "Results"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "edgesim_check_assertions",
        "edgesim_run fails a test when the scenario's own assertions: do not hold",
        type="bool",
        default=True,
    )


def failed_assertions(report: dict[str, Any]) -> list[str]:
    """One line per assertion of a run report that does not hold (or could not be evaluated)."""
    lines = []
    for a in report.get("assertions", []):
        if a.get("ok"):
            continue
        if a.get("error"):
            lines.append(f"  ✗ {a['assertion']}  (error: {a['error']})")
        else:
            lines.append(f"  ✗ {a['assertion']}  (value: {a['value']})")
    return lines


@pytest.fixture(scope="session")
def edgesim_run(request: pytest.FixtureRequest) -> RunScenario:
    """Run a scenario file (relative paths are taken from pytest's root directory)."""
    cache: dict[tuple[str, int | None], Any] = {}
    root = Path(str(request.config.rootpath))
    default_check = bool(request.config.getini("edgesim_check_assertions"))

    def run(
        path: str | Path, *, seed: int | None = None, check_assertions: bool | None = None
    ) -> Results:
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
        check = default_check if check_assertions is None else check_assertions
        if check:
            bad = failed_assertions(result.report)
            if bad:
                total = len(result.report.get("assertions", []))
                pytest.fail(
                    f"{p}: {len(bad)} of {total} scenario assertion(s) do not hold:\n"
                    + "\n".join(bad)
                    + "\n(pass check_assertions=False to inspect the run anyway)",
                    pytrace=False,
                )
        return result

    return run
