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


def check_document(
    scenario: str,
    baseline: str,
    tolerance: float,
    changes: list[Change],
    assertions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What ``edgesim check --json`` writes: every compared metric and the verdict.

    ``ok`` is false when a metric got worse than the baseline beyond the tolerance (the same
    rule that makes ``edgesim check`` exit 1). The scenario's own assertions are listed for
    information; ``edgesim run`` is the command that fails on them.
    """
    worse = [c for c in changes if c.worse]
    return {
        "edgesim_check": 1,
        "scenario": scenario,
        "baseline": baseline,
        "tolerance": tolerance,
        "ok": not worse,
        "compared": len(changes),
        "worse": len(worse),
        "metrics": [
            {
                "scope": c.scope,
                "metric": c.metric,
                "baseline": c.baseline,
                "current": c.current,
                "change": c.change,
                "worse": c.worse,
            }
            for c in changes
        ],
        "assertions": list(assertions or []),
    }


def junit_xml(doc: dict[str, Any]) -> str:
    """A JUnit XML report of a check document: one test case per compared metric.

    CI systems (GitHub Actions test reporters, GitLab, Jenkins) show each regression as a
    failed test named ``scope: metric``; the scenario's assertions form a second suite.
    """
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="edgesim check")

    def suite(name: str, cases: list[tuple[str, str | None, str]]) -> None:
        failures = sum(1 for _, msg, _ in cases if msg is not None)
        el = ET.SubElement(
            root,
            "testsuite",
            name=name,
            tests=str(len(cases)),
            failures=str(failures),
            errors="0",
            skipped="0",
        )
        for case_name, failure, detail in cases:
            tc = ET.SubElement(el, "testcase", classname=name, name=case_name, time="0")
            if failure is not None:
                f = ET.SubElement(tc, "failure", message=failure, type="regression")
                f.text = detail
            else:
                ET.SubElement(tc, "system-out").text = detail

    tol = f"{doc['tolerance'] * 100:g} %"
    metric_cases: list[tuple[str, str | None, str]] = []
    for m in doc["metrics"]:
        detail = f"baseline {m['baseline']:.6g}, now {m['current']:.6g} ({m['change']})"
        failure = f"worse than the baseline by more than {tol}: {detail}" if m["worse"] else None
        metric_cases.append((f"{m['scope']}: {m['metric']}", failure, detail))
    suite(f"regressions vs {doc['baseline']}", metric_cases)
    if doc["assertions"]:
        cases: list[tuple[str, str | None, str]] = []
        for a in doc["assertions"]:
            detail = f"error: {a['error']}" if a.get("error") else f"value: {a.get('value')}"
            cases.append((str(a["assertion"]), None if a.get("ok") else detail, detail))
        suite(f"assertions in {doc['scenario']}", cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"
