"""Benchmark: prepare time, run rate and peak RSS as the world grows (client groups × PoPs).

Usage: python bench/bench_world_scale.py [--clients 1000,10000] [--pops 1000] [--duration 60s]
       [--anchor PATH_TO_OLD_TREE]

Writes synthetic worlds (``edgesim topo synthetic``'s generator: 300 hubs, 64 regions, seed 1)
to a temporary folder and runs the reference workload on each (bench/reference.yaml's
services, sites moved to the synthetic regions, every client group taking part) in a fresh
subprocess, so peak RSS is that run's alone. With ``--anchor``, each case is run again
right after with that tree first on PYTHONPATH (e.g. an older commit extracted with
``git archive``), so the two are measured back to back. Targets (issue 15): 10,000 client
groups × 1,000 PoPs prepare in ≤ 2 s with peak RSS ≤ 1 GB; 100,000 client groups run within
4 GB. Numbers in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = """\
edgesim: 1
name: world scale benchmark
world: {world}
seed: 1
duration: {duration}
interval: 5m
clients:
  - name: users
    metros: all
    requests_per_second: 2000
    access: {{fibre: 0.4, cable: 0.3, 4g: 0.2, 5g: 0.1}}
    resolvers: {{isp: 0.6, public-ecs: 0.3, public-no-ecs: 0.1}}
workloads:
  - name: web
    host: www.example.com
    share: 0.9
    objects: {{count: 1_000_000, popularity: zipf(0.9), size: "lognormal(median=40KB, sigma=1.2)"}}
    cache_control: "max-age=86400"
  - name: api
    host: api.example.com
    share: 0.1
    method: POST
    size: 2KB
endpoints:
  - {{name: a, site: region:r-0, servers: 256}}
  - {{name: b, site: region:r-1, servers: 256}}
  - {{name: c, site: region:r-2, servers: 256}}
  - {{name: origin, site: region:r-0, servers: 1024}}
cloudfront:
  distributions:
    - name: site
      origin_shield: r-0
      origins:
        - {{name: web, endpoint: origin}}
      caches: {{edge: 2GB, regional: 20GB, shield: 100GB, eviction: lru}}
route53:
  zones:
    - name: example.com
      records:
        - {{name: www, alias: cloudfront:site}}
        - {{name: api, policy: latency, set: a, region: r-0, alias: endpoint:a}}
        - {{name: api, policy: latency, set: b, region: r-1, alias: endpoint:b}}
        - {{name: api, policy: latency, set: c, region: r-2, alias: endpoint:c}}
"""

CASE = r"""
import json, os, resource, sys, time
from pathlib import Path
import edgesim
assert edgesim.__file__.startswith(sys.argv[2]), edgesim.__file__
t0, c0 = time.perf_counter(), time.process_time()
from edgesim.scenario.loader import load_scenario, prepare
path = Path(sys.argv[1])
scn, index, file = load_scenario(path)
t1, c1 = time.perf_counter(), time.process_time()
run = prepare(scn, index, file, base_dir=path.parent)
t2, c2 = time.perf_counter(), time.process_time()
run.execute()
t3, c3 = time.perf_counter(), time.process_time()
print(json.dumps({
    "load_s": t1 - t0, "prepare_s": t2 - t1, "execute_s": t3 - t2, "requests": run.requests,
    "prepare_cpu_s": c2 - c1, "execute_cpu_s": c3 - c2, "groups": len(run.groups),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_case(scenario: Path, pythonpath: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": pythonpath}
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(scenario), pythonpath],
        cwd=scenario.parent,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    got: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="1000,10000")
    ap.add_argument("--pops", type=int, default=1000)
    ap.add_argument("--duration", default="60s")
    ap.add_argument("--anchor", default=None, help="an older tree to run back to back")
    ap.add_argument(
        "--anchor-max-clients",
        type=int,
        default=10_000,
        help="run the anchor only up to this many client groups (full tables need ~16 bytes "
        "per pair of nodes)",
    )
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from edgesim.topology.synthetic import synthetic_topology, topology_yaml

    trees = [("this tree", str(ROOT))]
    if args.anchor:
        trees.append(("anchor", args.anchor))
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(c) for c in args.clients.split(",")):
            world = Path(tmp) / f"world-{n}.yaml"
            t = time.perf_counter()
            topo = synthetic_topology(hubs=300, regions=64, pops=args.pops, clients=n, seed=1)
            world.write_text(topology_yaml(topo))
            gen_s = time.perf_counter() - t
            scenario = Path(tmp) / f"scenario-{n}.yaml"
            scenario.write_text(SCENARIO.format(world=world.name, duration=args.duration))
            for label, tree in trees:
                if label == "anchor" and n > args.anchor_max_clients:
                    continue
                r = run_case(scenario, tree)
                rate = r["requests"] / r["execute_cpu_s"] if r["execute_cpu_s"] else 0.0
                print(
                    f"{n:7} groups x {args.pops} PoPs [{label:9}]: world written in {gen_s:.1f} s; "
                    f"prepare {r['prepare_s']:.2f} s (CPU {r['prepare_cpu_s']:.2f} s), execute "
                    f"{r['execute_s']:.2f} s (CPU {r['execute_cpu_s']:.2f} s; {r['requests']:.0f} "
                    f"req, {rate:,.0f} req/s), "
                    f"peak RSS {r['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
    print(
        time.strftime("measured %Y-%m-%d %H:%M UTC", time.gmtime()),
        os.uname().machine,
        f"{os.cpu_count()} cores",
    )


if __name__ == "__main__":
    main()
