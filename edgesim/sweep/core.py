"""A sweep: every variant × every replication seed on an executor, reduced to one table."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgesim.errors import InputError
from edgesim.report.output import dumps
from edgesim.scenario.schema import scenario_model
from edgesim.sweep.executors import Executor, Progress, TaskRunner
from edgesim.sweep.metrics import SCALARS, aggregate, run_task
from edgesim.sweep.variants import Variant
from edgesim.yamlio import load_yaml_file, validate

SWEEP_VERSION = 1


def load_base(path: Path) -> dict[str, Any]:
    """The scenario file as a plain document (checked by the schema, so a broken base file
    fails before any variant is made)."""
    data, index = load_yaml_file(path)
    if not isinstance(data, dict):
        raise InputError.single("a scenario must be a mapping", file=str(path))
    validate(scenario_model(), data, index, str(path))
    return data


def endpoint_sites(doc: dict[str, Any]) -> int:
    """How many distinct sites the document's endpoints run in (the Pareto plot's x)."""
    eps = doc.get("endpoints") or []
    return len({str(e.get("site")) for e in eps if isinstance(e, dict) and e.get("site")})


def seeds_of(doc: dict[str, Any], replications: int) -> list[int]:
    seed = int(doc.get("seed", 1))
    return [seed + i for i in range(replications)]


def run_sweep(
    variants: list[Variant],
    executor: Executor,
    *,
    replications: int = 1,
    base_dir: Path | None = None,
    scenario: str = "",
    on_update: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run every variant under seeds seed … seed+N−1 and return the sweep document.

    ``should_stop`` interrupts the sweep: variants with a run cut short or never started get
    ``status: incomplete`` and the document ``complete: false``."""
    tasks = [
        {
            "variant": v.index,
            "seed": s,
            "doc": v.doc,
            "base_dir": str(base_dir) if base_dir else None,
            "name": f"variant {v.index}",
        }
        for v in variants
        for s in seeds_of(v.doc, replications)
    ]
    runner = TaskRunner(executor, on_update, should_stop)
    results = runner.run(run_task, tasks, len(variants))
    by_variant: dict[int, list[dict[str, Any]]] = {}
    for r in results:
        by_variant.setdefault(r["variant"], []).append(r)
    rows = []
    keys: list[str] = []
    for v in variants:
        for k in v.overrides:
            if k not in keys:
                keys.append(k)
    for v in variants:
        runs = by_variant.get(v.index, [])
        row: dict[str, Any] = {
            "index": v.index,
            "label": v.label,
            "overrides": v.overrides,
            "seeds": [r["seed"] for r in runs],
            "sites": endpoint_sites(v.doc),
        }
        bad = [r for r in runs if not r["ok"]]
        cut = [r for r in runs if r.get("incomplete")]
        if cut:
            row["status"] = "incomplete"
            row["error"] = f"seed {cut[0]['seed']}: {cut[0]['error']}"
        elif bad:
            row["status"] = "failed"
            row["error"] = f"seed {bad[0]['seed']}: {bad[0]['error']}"
        else:
            row["status"] = "ok"
            agg = aggregate([r["metrics"] for r in runs])
            row["metrics"] = {k: agg[k] for k in SCALARS}
            row["extra"] = agg["extra"]
            row["worst_group"] = agg["worst_group"]
            row["groups_p95"] = agg["groups_p95"]
            row["runs"] = [
                {"seed": r["seed"], **{k: r["metrics"][k] for k in SCALARS}} for r in runs
            ]
        rows.append(row)
    from edgesim import __version__

    return {
        "edgesim_sweep": SWEEP_VERSION,
        "edgesim_version": __version__,
        "scenario": scenario,
        "replications": replications,
        "complete": not runner.interrupted,
        "keys": keys,
        "variants": rows,
        "pareto": pareto_front(rows, "pop_p95"),
    }


def pareto_front(rows: list[dict[str, Any]], metric: str) -> list[int]:
    """Variants no other beats on both fewer (or as many) sites and lower ``metric``."""
    pts = [
        (r["sites"], r["metrics"][metric]["mean"], r["index"])
        for r in rows
        if r["status"] == "ok" and not math.isnan(r["metrics"][metric]["mean"])
    ]
    front = []
    for s, m, i in pts:
        dominated = any(
            (s2 <= s and m2 <= m) and (s2 < s or m2 < m) for s2, m2, _ in pts if (s2, m2) != (s, m)
        )
        if not dominated:
            front.append(i)
    return sorted(front)


def sweep_json(doc: dict[str, Any]) -> str:
    return dumps(doc)


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return ""
        return repr(round(x, 6))
    if isinstance(x, str):
        return x
    return json.dumps(x, ensure_ascii=False)


def sweep_csv(doc: dict[str, Any]) -> str:
    """One row per variant: its overrides, status, then each metric's mean and 95 % CI."""
    rows = doc["variants"]
    extra = sorted({k for r in rows for k in r.get("extra", {})})
    head = ["variant", "label", *doc["keys"], "status", "sites", "n"]
    for m in (*SCALARS, *extra):
        head += [m, f"{m}_ci95"]
    head += ["worst_group", "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for r in rows:
        out: list[str] = [str(r["index"]), r["label"]]
        out += [_fmt(r["overrides"].get(k)) for k in doc["keys"]]
        out += [r["status"], str(r["sites"]), str(len(r["seeds"]))]
        for m in SCALARS:
            s = r.get("metrics", {}).get(m)
            out += [_fmt(s["mean"]), _fmt(s["ci95"])] if s else ["", ""]
        for m in extra:
            s = r.get("extra", {}).get(m)
            out += [_fmt(s["mean"]), _fmt(s["ci95"])] if s else ["", ""]
        out += [r.get("worst_group", ""), r.get("error", "")]
        w.writerow(out)
    return buf.getvalue()
