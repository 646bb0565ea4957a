"""Engine time of one scenario, for back-to-back comparisons with an earlier commit.

Usage::

    git archive <commit> | tar -x -C /tmp/base
    python bench/bench_engine_ab.py SCENARIO --base /tmp/base --repeat 3 [--duration 2000s]

Runs the scenario alternately with the working tree's edgesim and with the one under
``--base`` (each run in a fresh interpreter with ``PYTHONPATH`` pointing at that tree), and
prints the CPU time (user + system) and wall time of ``Run.execute`` for each, then the
medians and their ratio. CPU time is less sensitive than wall time to other jobs sharing
the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, resource, sys, time
from pathlib import Path
from edgesim.scenario.loader import load_scenario, prepare
path = Path(sys.argv[1])
scn, index, file = load_scenario(path)
if len(sys.argv) > 2:
    from edgesim.units import parse_duration_ns
    scn = scn.model_copy(update={"duration": parse_duration_ns(sys.argv[2])})
run = prepare(scn, index, file, base_dir=path.parent)
c0, w0 = time.process_time(), time.perf_counter()
run.execute()
c1, w1 = time.process_time(), time.perf_counter()
import edgesim
print(json.dumps({"cpu_s": c1 - c0, "wall_s": w1 - w0, "requests": run.requests,
                  "tree": str(Path(edgesim.__file__).parent.parent)}))
"""


def once(tree: Path, scenario: Path, duration: str | None) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(scenario), *([duration] if duration else [])],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    got: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--base", type=Path, required=True, help="a checkout of the earlier commit")
    ap.add_argument("--new", type=Path, default=ROOT, help="the tree to compare (default: this)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", default=None, help="override the scenario's duration")
    args = ap.parse_args()
    cpu: dict[str, list[float]] = {"base": [], "new": []}
    for i in range(args.repeat):
        for name, tree in (("base", args.base), ("new", args.new)):
            r = once(tree, args.scenario.resolve(), args.duration)
            cpu[name].append(r["cpu_s"])
            print(
                f"{i + 1} {name}: execute cpu {r['cpu_s']:.2f} s, wall {r['wall_s']:.2f} s, "
                f"{int(r['requests']):,} requests",
                flush=True,
            )
    b, n = statistics.median(cpu["base"]), statistics.median(cpu["new"])
    print(f"median execute cpu: base {b:.2f} s, new {n:.2f} s, new/base {n / b:.3f}")


if __name__ == "__main__":
    main()
