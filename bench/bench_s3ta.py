"""Benchmark: engine speed on S3 Transfer Acceleration uploads.

Usage: python bench/bench_s3ta.py [--rate 20000] [--duration 5m] [--metros all]

Runs ``scenarios/s3ta-sydney-uploads.yaml`` scaled up (a higher request rate, every metro of
aws-world unless told otherwise), pinned to one core, and prints simulated requests per second
over ``execute`` (target: ≥ 500,000, as for the engine), the share of uploads S3TA bypassed and
the peak RSS. Needs the engine hook ``Target.user_transfer_ms``
(docs/s3-transfer-acceleration.md).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "s3ta-sydney-uploads.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=20_000.0, help="requests/s of the far users")
    ap.add_argument("--duration", default="5m")
    ap.add_argument("--metros", default="all", help="'all', 'top-N' or the scenario's own")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from edgesim.scenario.loader import load_scenario, prepare
    from edgesim.sim.report import build_report
    from edgesim.sim.results import Results
    from edgesim.units import parse_duration_ns

    scn, index, file = load_scenario(SCENARIO)
    far = scn.clients[0].model_copy(update={"requests_per_second": args.rate})
    if args.metros != "own":
        far = far.model_copy(update={"metros": args.metros})
    scn = scn.model_copy(
        update={
            "duration": parse_duration_ns(args.duration),
            "clients": [far, *scn.clients[1:]],
            "assertions": [],
        }
    )
    t0 = time.perf_counter()
    run = prepare(scn, index, file, base_dir=SCENARIO.parent)
    t1 = time.perf_counter()
    run.execute()
    t2 = time.perf_counter()
    results = Results(run)
    results.report = build_report(results)
    t3 = time.perf_counter()
    n = run.requests
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    acc = results.report["services"]["s3"]["videos-fast"]["accelerate"]
    print(f"groups: {len(run.groups)}  requests: {n:,}")
    print(f"prepare {t1 - t0:.2f} s, execute {t2 - t1:.2f} s, report {t3 - t2:.2f} s")
    print(f"engine: {n / (t2 - t1):,.0f} simulated requests/s (execute)")
    print(f"end to end: {n / (t3 - t0):,.0f} requests/s")
    print(f"S3TA bypassed {acc['bypass_ratio']:.1%} of {acc['uploads']:,} accelerated uploads")
    print(f"peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
