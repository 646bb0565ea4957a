"""Benchmark: one run on 1 thread against the same run on N threads, back to back.

Usage: python bench/bench_threads.py [--threads 2] [--duration 1000s] [--repeat 3]

Runs bench/reference.yaml in fresh subprocesses alternating ``threads=1`` and ``threads=N``
and prints the execute phase's wall time of each (threads overlap in wall time, so CPU time
does not show the gain) and the best-of-repeat ratio; the two reports are compared byte for
byte. Target (issue 15): ≥ 1.5× on 2 cores. Numbers, and where the serial time goes, in
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASE = r"""
import hashlib, json, sys, time
from pathlib import Path
from edgesim.scenario.loader import load_scenario, prepare
from edgesim.sim.report import build_report, dumps
from edgesim.sim.results import Results
from edgesim.units import parse_duration_ns
path = Path(sys.argv[1])
scn, index, file = load_scenario(path)
scn = scn.model_copy(update={"duration": parse_duration_ns(sys.argv[2])})
run = prepare(scn, index, file, base_dir=path.parent)
t0, c0 = time.perf_counter(), time.process_time()
run.execute(threads=int(sys.argv[3]))
t1, c1 = time.perf_counter(), time.process_time()
res = Results(run)
res.report = build_report(res)
print(json.dumps({"requests": run.requests, "wall_s": t1 - t0, "cpu_s": c1 - c0,
                  "sha": hashlib.sha256(dumps(res.report).encode()).hexdigest()}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration", default="1000s")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    scenario = ROOT / "bench" / "reference.yaml"
    best: dict[int, float] = {}
    shas = set()
    for _ in range(args.repeat):
        for n in (1, args.threads):
            out = subprocess.run(
                [sys.executable, "-c", CASE, str(scenario), args.duration, str(n)],
                check=True,
                capture_output=True,
                text=True,
                cwd="/",
                env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)},
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            shas.add(r["sha"])
            best[n] = min(best.get(n, float("inf")), r["wall_s"])
            print(
                f"threads={n}: {r['requests']:,} req, execute {r['wall_s']:.2f} s wall "
                f"({r['cpu_s']:.2f} s CPU), report sha256 {r['sha'][:12]}",
                flush=True,
            )
    print(
        f"best wall: 1 thread {best[1]:.2f} s, {args.threads} threads {best[args.threads]:.2f} s"
        f" = {best[1] / best[args.threads]:.2f}×; reports identical: {len(shas) == 1}"
    )
    print(
        time.strftime("measured %Y-%m-%d %H:%M UTC", time.gmtime()),
        os.uname().machine,
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
    )


if __name__ == "__main__":
    main()
