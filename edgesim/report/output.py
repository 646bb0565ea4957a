"""Report files: the JSON text of a report (deterministic, byte-identical for the same run),
its time series as CSV, and atomic writes. The report itself is built by the I/O-free core
(:func:`edgesim.sim.report.build_report`)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from edgesim.outputs import atomic_write as atomic_write  # re-exported: one implementation


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(clean(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        if f != f or f in (float("inf"), float("-inf")):
            return None
        v = round(f, 6)
        return 0.0 if v == 0 else v  # no "-0.0" in reports
    return obj


def timeseries_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = report["timeseries"]["workloads"]
    w.writerow(["t_s", "workload", "requests", "errors", "p50_ms", "p95_ms", "p99_ms", "mean_ms"])
    for row in report["timeseries"]["rows"]:
        for i, name in enumerate(names):
            lat = row["latency_ms"][i]
            w.writerow(
                [
                    row["t_s"],
                    name,
                    row["requests"][i],
                    row["errors"][i],
                    lat["p50"],
                    lat["p95"],
                    lat["p99"],
                    lat["mean"],
                ]
            )
    return buf.getvalue()
