"""Benchmark: cost per simulated request on two scenario shapes, this tree against an anchor.

Usage: python bench/bench_engine_cost.py --anchor PATH_TO_OLD_TREE [--repeat 1]
       [--reference-duration 1000s] [--quickstart-duration 2h] [--threads N]

Runs bench/reference.yaml (2,000 req/s, ~100,000 requests per chunk) and
scenarios/quickstart.yaml (350 req/s with a diurnal profile: ~3,500 requests per 10 s chunk,
a region failure) in fresh subprocesses, alternating this tree and the anchor (an older commit
extracted with ``git archive``) back to back, and prints the execute phase's CPU time per
request (the machine is shared, so CPU time is steadier than wall time) and the ratios.
Targets (issue 15): quickstart's cost per request within 1.3× of the reference's; reference
throughput ≥ 1.5× the anchor's. Numbers in bench/README.md.
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
import json, resource, sys, time
from pathlib import Path
import edgesim
assert edgesim.__file__.startswith(sys.argv[3]), edgesim.__file__
from edgesim.scenario.loader import load_scenario, prepare
from edgesim.units import parse_duration_ns
path = Path(sys.argv[1])
scn, index, file = load_scenario(path)
scn = scn.model_copy(update={"duration": parse_duration_ns(sys.argv[2])})
run = prepare(scn, index, file, base_dir=path.parent)
kw = {}
if len(sys.argv) > 4 and sys.argv[4] != "-":
    kw["threads"] = int(sys.argv[4])
t0, c0 = time.perf_counter(), time.process_time()
run.execute(**kw)
t1, c1 = time.perf_counter(), time.process_time()
print(json.dumps({"requests": run.requests, "wall_s": t1 - t0, "cpu_s": c1 - c0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_case(tree: str, scenario: Path, duration: str, threads: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": tree}
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(scenario), duration, tree, threads],
        cwd="/",
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    got: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--anchor", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--reference-duration", default="1000s")
    ap.add_argument("--quickstart-duration", default="2h")
    ap.add_argument("--threads", default="-", help="this tree's --threads (default: its own)")
    args = ap.parse_args()
    cases = [
        ("reference", ROOT / "bench" / "reference.yaml", args.reference_duration),
        ("quickstart", ROOT / "scenarios" / "quickstart.yaml", args.quickstart_duration),
    ]
    best: dict[tuple[str, str], dict[str, float]] = {}
    for _ in range(args.repeat):
        for name, path, duration in cases:
            for label, tree, threads in (
                ("this tree", str(ROOT), args.threads),
                ("anchor", args.anchor, "-"),
            ):
                r = run_case(tree, path, duration, threads)
                us = r["cpu_s"] / r["requests"] * 1e6
                print(
                    f"{name:10} [{label:9}] {r['requests']:>9,.0f} req: execute "
                    f"{r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU = {us:.2f} µs CPU/req "
                    f"({r['requests'] / r['cpu_s']:,.0f} req/CPU-s), peak RSS {r['rss_mb']:.0f} MB",
                    flush=True,
                )
                key = (name, label)
                if key not in best or r["cpu_s"] / r["requests"] < (
                    best[key]["cpu_s"] / best[key]["requests"]
                ):
                    best[key] = r

    def us(name: str, label: str) -> float:
        r = best[(name, label)]
        return r["cpu_s"] / r["requests"] * 1e6

    for label in ("this tree", "anchor"):
        print(
            f"[{label}] quickstart / reference cost per request: "
            f"{us('quickstart', label) / us('reference', label):.2f}×"
        )
    for name, _, _ in cases:
        print(
            f"{name}: throughput this tree / anchor = "
            f"{us(name, 'anchor') / us(name, 'this tree'):.2f}×"
        )
    print(
        time.strftime("measured %Y-%m-%d %H:%M UTC", time.gmtime()),
        os.uname().machine,
        f"{os.cpu_count()} cores",
    )


if __name__ == "__main__":
    main()
