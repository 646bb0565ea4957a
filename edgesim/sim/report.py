"""The run report: a stable document (schema version 1) built from a run's results.

Every float is rounded (µs for latencies), so the same scenario and seed give the same
document; nothing in it depends on the wall clock. Turning it into files (JSON, CSV, HTML) is
the report layer's job (:mod:`edgesim.report`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgesim import __version__
from edgesim.sim.batch import PHASES
from edgesim.sim.results import LatencyStats, Results

REPORT_VERSION = 1


def _r(x: float, nd: int = 3) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def build_report(results: Results) -> dict[str, Any]:
    run = results.run
    scn = run.scenario
    m = run.metrics
    nw = m.n_workloads
    ctx = run.ctx

    def block(pairs: np.ndarray) -> dict[str, Any]:
        req = int(m.requests[pairs].sum())
        err = int(m.errors[pairs].sum())
        ok = req - err
        stats = LatencyStats.from_counts(m.pairs.counts[pairs].sum(axis=0))
        phases = {p: _r(m.phase_sum[p][pairs].sum() / ok) if ok else 0.0 for p in PHASES}
        hops = {
            h: _r(v[pairs].sum() / ok)
            for h, v in sorted(m.hop_sum.items())
            if ok and v[pairs].sum() > 0
        }
        return {
            "requests": req,
            "errors": err,
            "availability": _r(1.0 - err / req, 6) if req else 1.0,
            "latency_ms": stats.as_dict(),
            "phases_mean_ms": phases,
            "hops_mean_ms": hops,
        }

    n_groups = len(run.groups)
    all_pairs = np.arange(n_groups * nw)
    groups = {}
    for gi, g in enumerate(run.groups):
        pairs = gi * nw + np.arange(nw)
        groups[g.name] = {"segment": g.segment, **block(pairs)}
    workloads = {}
    for wi, w in enumerate(scn.workloads):
        workloads[w.name] = block(np.arange(n_groups) * nw + wi)
        workloads[w.name]["phases_ms"] = {
            p: LatencyStats.from_counts(m.phases.counts[m.phase_row(p, wi)]).as_dict()
            for p in PHASES
        }
    segments = {}
    for seg in results.segments:
        gis = [i for i, g in enumerate(run.groups) if g.segment == seg]
        segments[seg] = block((np.array(gis)[:, None] * nw + np.arange(nw)[None, :]).ravel())
    sites = {}
    site_counts = m.sites.counts
    for node in np.flatnonzero(m.site_requests):
        key = ctx.node_keys[int(node)]
        row = int(m.site_row[node])
        sites[key] = {
            "requests": int(m.site_requests[node]),
            "latency_ms": LatencyStats.from_counts(site_counts[row]).as_dict()
            if row >= 0
            else None,
        }
    pops = {}
    pop_counts = m.pops.counts
    for node in np.flatnonzero(m.pop_requests):
        key = ctx.node_keys[int(node)]
        row = int(m.pop_row[node])
        pops[key.split(":", 1)[1]] = {
            "requests": int(m.pop_requests[node]),
            "latency_ms": LatencyStats.from_counts(pop_counts[row]).as_dict(),
        }
    series = {
        "interval_s": scn.interval / 1e9,
        "workloads": [w.name for w in scn.workloads] + ["all"],
        "rows": m.series,
    }
    assertions = []
    for a in getattr(run, "assertions", []):
        try:
            val = results.evaluate(a)
            assertions.append({"assertion": a.text, "value": _r(val, 6), "ok": a.holds(val)})
        except KeyError as exc:
            assertions.append(
                {"assertion": a.text, "value": None, "ok": False, "error": str(exc.args[0])}
            )
    services = {svc.section: svc.report() for svc in run.services}
    return {
        "edgesim_report": REPORT_VERSION,
        "edgesim_version": __version__,
        "scenario": scn.name,
        "world": ctx.world.name,
        "seed": ctx.seed,
        "duration_s": scn.duration / 1e9,
        "warmup_s": scn.warmup / 1e9,
        "complete": not run.interrupted,
        "simulated_requests": run.requests,
        "summary": {
            **block(all_pairs),
            "status_counts": {str(k): v for k, v in sorted(m.status.items())},
        },
        "groups": groups,
        "segments": segments,
        "workloads": workloads,
        "sites": sites,
        "pops": pops,
        "services": services,
        "events": ctx.events,
        "dns": {
            host: {
                "queries": s.queries,
                "resolver_misses": s.resolver_misses,
                "stub_hits": s.stub_hits,
                "answers_to_down_targets": s.bad_answers,
                "failover_s": round(s.failover_s, 3),
            }
            for host, s in sorted(run.dns.stats.items())
        },
        "timeseries": series,
        "assertions": assertions,
    }
