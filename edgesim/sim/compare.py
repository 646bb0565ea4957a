"""Latency regression checks: compare a run's report with a saved baseline, and replications."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Two-sided 95 % Student-t critical values by degrees of freedom (1..30); 1.96 beyond.
_T95 = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
]

#: An error rate within this absolute amount of the baseline is never a regression (noise).
ERROR_RATE_FLOOR = 0.0005


def t95(df: int) -> float:
    return _T95[df - 1] if 1 <= df <= len(_T95) else 1.96


def mean_ci(values: list[float]) -> dict[str, float]:
    """Mean and the half-width of its 95 % confidence interval."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "ci95": 0.0, "n": n}
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return {"mean": mean, "ci95": t95(n - 1) * math.sqrt(var / n), "n": n}


@dataclass(frozen=True)
class Change:
    scope: str
    metric: str
    baseline: float
    current: float
    worse: bool

    @property
    def change(self) -> str:
        if self.baseline == 0:
            return "new" if self.current else "0"
        return f"{(self.current - self.baseline) / self.baseline * 100:+.1f} %"


def _blocks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {"all": report["summary"]}
    for kind in ("workloads", "segments", "groups"):
        for name, block in report.get(kind, {}).items():
            out[f"{kind[:-1]} {name}"] = block
    return out


def compare(baseline: dict[str, Any], current: dict[str, Any], tolerance: float) -> list[Change]:
    """Every compared metric; ``worse`` marks the regressions beyond ``tolerance``."""
    changes: list[Change] = []
    base_blocks = _blocks(baseline)
    for scope, cur in _blocks(current).items():
        base = base_blocks.get(scope)
        if base is None:
            continue
        for p in ("p50", "p95", "p99"):
            b = float(base["latency_ms"][p])
            c = float(cur["latency_ms"][p])
            changes.append(Change(scope, f"{p} latency (ms)", b, c, c > b * (1 + tolerance)))
        be = 1.0 - float(base["availability"])
        ce = 1.0 - float(cur["availability"])
        changes.append(
            Change(scope, "error rate", be, ce, ce > be * (1 + tolerance) + ERROR_RATE_FLOOR)
        )
    for section, svc in current.get("services", {}).items():
        base_svc = baseline.get("services", {}).get(section, {})
        for dist, d in svc.get("distributions", {}).items() if isinstance(svc, dict) else []:
            b = base_svc.get("distributions", {}).get(dist, {}).get("hit_ratio")
            c = d.get("hit_ratio")
            if b is not None and c is not None:
                changes.append(
                    Change(
                        f"{section} {dist}",
                        "hit ratio",
                        float(b),
                        float(c),
                        float(c) < float(b) * (1 - tolerance),
                    )
                )
    return changes
