"""Benchmark: simulated requests per second of the reference scenario, and peak RSS.

Usage: python bench/bench_scenario.py [--scenario bench/reference.yaml] [--duration 5000s]
       [--profile]

Runs in this process pinned to one core. Reports the engine's own time (prepare, execute,
report) and the rate over ``execute``; the targets (issue "Scenario engine") are ≥ 500,000
simulated requests/s on one core end to end, and 10 million requests within 400 MB peak RSS.
With --profile, prints a pyinstrument profile of the run (pip install pyinstrument).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", type=Path, default=ROOT / "bench" / "reference.yaml")
    ap.add_argument("--duration", default=None, help="override the scenario's duration")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t0 = time.perf_counter()
    from edgesim.scenario.loader import load_scenario, prepare
    from edgesim.sim.report import build_report
    from edgesim.sim.results import Results

    scn, index, file = load_scenario(args.scenario)
    if args.duration:
        from edgesim.units import parse_duration_ns

        scn = scn.model_copy(update={"duration": parse_duration_ns(args.duration)})
    t_load = time.perf_counter()
    run = prepare(scn, index, file, base_dir=args.scenario.parent)
    t_prep = time.perf_counter()
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    run.execute()
    t_exec = time.perf_counter()
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    results = Results(run)
    results.report = build_report(results)
    t_rep = time.perf_counter()
    n = run.requests
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cf = results.report["services"]["cloudfront"]["distributions"]["site"]
    print(f"{n:,} simulated requests over {scn.duration / 1e9:,.0f} s of virtual time")
    print(
        f"  imports + parse {t_load - t0:.2f} s, prepare {t_prep - t_load:.2f} s, "
        f"execute {t_exec - t_prep:.2f} s, report {t_rep - t_exec:.2f} s"
    )
    print(
        f"  {n / (t_exec - t_prep):,.0f} requests/s during execute; "
        f"{n / (t_rep - t_load):,.0f} requests/s prepare-to-report"
    )
    print(
        f"  peak RSS {rss:,.0f} MB; edge hit ratio {cf['hit_ratio']:.3f}, regional "
        f"{cf['regional_hit_ratio']:.3f}, shield {cf['shield_hit_ratio']:.3f}"
    )
    print(time.strftime("measured %Y-%m-%d"), os.uname().machine, f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
