"""One run of one variant, reduced to its headline metrics: the pure function every executor
runs (in this process, a process pool or a Dask worker), and the statistics across seeds."""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgesim.errors import InputError
from edgesim.scenario.loader import prepare
from edgesim.scenario.schema import scenario_model
from edgesim.sim.compare import mean_ci
from edgesim.sim.report import build_report
from edgesim.sim.results import Results
from edgesim.topology.model import ClientGroup
from edgesim.yamlio import LineIndex, validate

#: Scalar metrics of a run, in table order. ``pop_p95`` / ``pop_p99``: the mean of each
#: client group's percentile weighted by its metro's population (the world's client groups);
#: ``worst_p95``: the highest group p95.
SCALARS = (
    "p50",
    "p95",
    "p99",
    "mean",
    "availability",
    "pop_p95",
    "pop_p99",
    "worst_p95",
    "requests",
)


def headline(report: dict[str, Any], population: dict[str, float]) -> dict[str, Any]:
    """The headline metrics of one JSON report. ``population``: group name → weight."""
    s = report["summary"]
    lat = s["latency_ms"]
    out: dict[str, Any] = {
        "p50": float(lat["p50"]),
        "p95": float(lat["p95"]),
        "p99": float(lat["p99"]),
        "mean": float(lat["mean"]),
        "availability": float(s["availability"]),
        "requests": float(s["requests"]),
    }
    groups_p95: dict[str, float] = {}
    w_sum = p95_sum = p99_sum = 0.0
    worst = (-1.0, "")
    for name, g in sorted(report["groups"].items()):
        if g["requests"] - g["errors"] <= 0:
            continue
        p95 = float(g["latency_ms"]["p95"])
        p99 = float(g["latency_ms"]["p99"])
        groups_p95[name] = p95
        w = float(population.get(name, 0.0))
        w_sum += w
        p95_sum += w * p95
        p99_sum += w * p99
        if p95 > worst[0]:
            worst = (p95, name)
    out["pop_p95"] = p95_sum / w_sum if w_sum > 0 else math.nan
    out["pop_p99"] = p99_sum / w_sum if w_sum > 0 else math.nan
    out["worst_p95"] = worst[0] if worst[1] else math.nan
    out["worst_group"] = worst[1]
    extra: dict[str, float] = {}
    for name, w in sorted(report["workloads"].items()):
        extra[f"workload.{name}.p95"] = float(w["latency_ms"]["p95"])
        extra[f"workload.{name}.availability"] = float(w["availability"])
    for section, svc in sorted(report.get("services", {}).items()):
        dists = svc.get("distributions") if isinstance(svc, dict) else None
        for dname, d in sorted((dists or {}).items()):
            if isinstance(d, dict) and d.get("hit_ratio") is not None:
                extra[f"{section}.{dname}.hit_ratio"] = float(d["hit_ratio"])
    out["extra"] = extra
    out["groups_p95"] = groups_p95
    return out


def run_variant(
    doc: dict[str, Any],
    seed: int,
    base_dir: str | None = None,
    name: str = "<variant>",
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Validate, run and reduce one scenario document under ``seed``: deterministic, the same
    whichever process runs it. Raises :class:`edgesim.errors.InputError` on a bad document.
    ``should_stop`` cuts the run short; then ``complete`` is false in the result."""
    scn = validate(scenario_model(), doc, LineIndex(), name)
    run = prepare(scn, LineIndex(), name, seed=seed, base_dir=Path(base_dir) if base_dir else None)
    run.execute(None, should_stop)
    results = Results(run)
    report = build_report(results)
    population: dict[str, float] = {}
    for g in run.groups:
        node = run.ctx.world.nodes[g.key]
        population[g.name] = float(node.population) if isinstance(node, ClientGroup) else 0.0
    out = headline(report, population)
    out["complete"] = not run.interrupted
    return out


INTERRUPTED: dict[str, Any] = {
    "ok": False,
    "incomplete": True,
    "error": "interrupted before this run finished",
}
"""What a task cut short (or never started) by an interruption reports."""


def run_task(task: dict[str, Any], should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """``{variant, seed, doc, base_dir}`` → ``{variant, seed, ok, metrics | error}``; never
    raises, so one bad variant cannot stop a sweep (whatever runs it). A run cut short by
    ``should_stop`` is not ok and has ``incomplete: true``."""
    out: dict[str, Any] = {"variant": task["variant"], "seed": task["seed"]}
    try:
        metrics = run_variant(
            task["doc"],
            int(task["seed"]),
            task.get("base_dir"),
            task.get("name") or "<variant>",
            should_stop,
        )
        if metrics.pop("complete", True):
            out["metrics"] = metrics
            out["ok"] = True
        else:
            out.update(INTERRUPTED)
    except InputError as exc:
        out["ok"] = False
        out["error"] = exc.render()
    except Exception as exc:
        out["ok"] = False
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        out["error"] = f"{type(exc).__name__}: {exc}{where}"
    return out


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95 % CI half-width (Student t) of every metric across the runs (seeds)."""
    out: dict[str, Any] = {}
    for key in SCALARS:
        vals = [float(r[key]) for r in runs if not math.isnan(float(r[key]))]
        out[key] = mean_ci(vals) if vals else {"mean": math.nan, "ci95": math.nan, "n": 0}
    extra_keys = sorted({k for r in runs for k in r["extra"]})
    out["extra"] = {
        k: mean_ci([float(r["extra"][k]) for r in runs if k in r["extra"]]) for k in extra_keys
    }
    groups = sorted({g for r in runs for g in r["groups_p95"]})
    out["groups_p95"] = {
        g: mean_ci([float(r["groups_p95"][g]) for r in runs if g in r["groups_p95"]])
        for g in groups
    }
    worst = [r["worst_group"] for r in runs if r["worst_group"]]
    out["worst_group"] = max(sorted(set(worst)), key=worst.count) if worst else ""
    return out
