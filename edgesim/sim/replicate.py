"""``--replications N``: the same scenario under N seeds, with 95 % confidence intervals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgesim.sim.api import run_scenario
from edgesim.sim.compare import mean_ci


def replicate(
    scenario: Path,
    first: dict[str, Any],
    n: int,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """``first`` is the report of seed s; runs seeds s+1 … s+n-1 and adds their statistics.

    When ``should_stop`` cuts a replication short, the statistics cover the replications that
    finished and the report is marked incomplete (``complete: false``)."""
    seed0 = int(first["seed"])
    reports = [first]
    complete = bool(first["complete"])
    for i in range(1, n):
        if not complete:
            break
        report = run_scenario(scenario, seed=seed0 + i, should_stop=should_stop).report
        if not report["complete"]:
            complete = False
            break
        reports.append(report)
    n = len(reports)
    scopes: dict[str, list[dict[str, Any]]] = {"all": [r["summary"] for r in reports]}
    for kind in ("workloads", "segments"):
        for name in first[kind]:
            scopes[f"{kind[:-1]} {name}"] = [r[kind][name] for r in reports]
    metrics = {}
    for scope, blocks in scopes.items():
        metrics[scope] = {
            **{
                p: mean_ci([b["latency_ms"][p] for b in blocks])
                for p in ("p50", "p95", "p99", "mean")
            },
            "availability": mean_ci([b["availability"] for b in blocks]),
        }
    out = dict(first)
    out["complete"] = complete
    out["replications"] = {"n": n, "seeds": [seed0 + i for i in range(n)], "metrics": metrics}
    return out
