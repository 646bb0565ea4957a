"""Sweep throughput on 1 vs 2 local workers (``edgesim sweep``; bench/sweep-notes.md).

The sweep: N variants (default 100) of ``scenarios/quickstart.yaml`` shortened with
``--vary duration=10m --vary timeline=[]`` (the timeline's events are after 10 min), one per
seed (``--vary seed=1,…,N``). Each configuration (executor × workers) runs the whole sweep;
configurations alternate and repeat ``--repeat`` times so that load from other jobs on a
shared machine hits them alike. Wall time includes starting the workers (process spawn and
imports), as a user would see it; the sweep's output is checked identical across every run.

Usage: .venv/bin/python bench/bench_sweep.py [--variants 100] [--repeat 3] [--duration 10m]
       [--executors processes,dask]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def loadavg() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def main() -> None:
    from edgesim.sweep import expand, load_base, make_executor, parse_vary, run_sweep, sweep_json

    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", default="10m")
    ap.add_argument("--executors", default="processes,dask")
    args = ap.parse_args()

    base = load_base(ROOT / "scenarios" / "quickstart.yaml")
    seeds = ",".join(str(i) for i in range(1, args.variants + 1))
    variants = expand(
        base,
        [
            parse_vary(f"duration={args.duration}"),
            parse_vary("timeline=[]"),
            parse_vary(f"seed={seeds}"),
        ],
    )
    print(f"{platform.node()} {platform.processor() or platform.machine()}, cores {os.cpu_count()}")
    print(f"{len(variants)} variants of the quickstart, duration {args.duration}")
    times: dict[tuple[str, int], list[float]] = {}
    digests: set[str] = set()
    for rep in range(args.repeat):
        for kind in args.executors.split(","):
            for workers in (1, 2):
                before = loadavg()
                t0 = time.perf_counter()
                ex = make_executor(kind, workers=workers, timeout_s=60)
                try:
                    doc = run_sweep(variants, ex, base_dir=ROOT / "scenarios")
                finally:
                    ex.close()
                dt = time.perf_counter() - t0
                digests.add(hashlib.sha256(sweep_json(doc).encode()).hexdigest())
                times.setdefault((kind, workers), []).append(dt)
                bad = sum(r["status"] != "ok" for r in doc["variants"])
                print(
                    f"rep {rep} {kind:9s} workers {workers}: {dt:6.1f} s "
                    f"({len(variants) / dt:5.2f} variants/s, {bad} failed) "
                    f"load before {before}, after {loadavg()}",
                    flush=True,
                )
    print(f"\ndistinct sweep.json digests across all runs: {len(digests)}")
    print("| executor | workers | median s | best s | variants/s (median) | speed-up (median) |")
    print("|---|--:|--:|--:|--:|--:|")
    for kind in args.executors.split(","):
        one = statistics.median(times[(kind, 1)])
        for workers in (1, 2):
            ts = times[(kind, workers)]
            med = statistics.median(ts)
            print(
                f"| {kind} | {workers} | {med:.1f} | {min(ts):.1f} | "
                f"{len(variants) / med:.2f} | {one / med:.2f}× |"
            )


if __name__ == "__main__":
    main()
