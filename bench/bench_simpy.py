"""Benchmark: edgesim against a hand-written SimPy model of the same path, back to back.

Usage: python bench/bench_simpy.py [--duration 200] [--rate 2000] [--repeat 1]
       (needs SimPy: pip install -e '.[bench]')

Both model client groups → their nearest edge location's LRU cache → the origin, with the same
request rate, the same catalogue (100,000 objects of 40 KB, Zipf(0.9) popularity) and the
same edge cache (400 MB = 10,000 objects per edge location):

* SimPy: one process per client group draws Poisson arrivals; each request is a SimPy
  process that looks its object up in the edge's LRU (an ``OrderedDict``), waits the round
  trip user↔edge (and edge↔origin on a miss) and records its latency. Nearest edges and round
  trips come from edgesim's latency tables, computed before the clock starts (not timed).
* edgesim: the same world, groups, rate, catalogue and cache sizes as a scenario
  (CloudFront in front of one origin endpoint, Route 53 alias); edgesim also models DNS,
  connection set-up, TLS, transfer time, a regional tier and queueing, which SimPy does not.

Each runs in a fresh subprocess; the timed part is the simulation itself (SimPy's
``env.run``, edgesim's ``Run.execute``), measured as CPU time of the process (the machine is
shared). Target (issue 15): edgesim ≥ 10× SimPy's requests per CPU-second. Numbers in
bench/README.md.
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
GROUPS = 50
OBJECTS = 100_000
OBJECT_BYTES = 40_000
EDGE_BYTES = 400_000_000

SCENARIO = f"""\
edgesim: 1
name: simpy comparison
world: aws-world
seed: 1
duration: {{duration}}s
interval: 1m
clients:
  - name: users
    metros: top-{GROUPS}
    requests_per_second: {{rate}}
    access: fibre
    resolvers: isp
workloads:
  - name: web
    host: www.example.com
    objects: {{{{count: {OBJECTS}, popularity: zipf(0.9), size: "{OBJECT_BYTES}B"}}}}
    cache_control: "max-age=86400"
endpoints:
  - {{{{name: origin, site: region:us-east-1, servers: 1024}}}}
cloudfront:
  distributions:
    - name: site
      origins:
        - {{{{name: web, endpoint: origin}}}}
      caches: {{{{edge: {EDGE_BYTES}B, regional: 1B, eviction: lru}}}}
route53:
  zones:
    - name: example.com
      records:
        - {{{{name: www, alias: cloudfront:site}}}}
"""

EDGESIM = r"""
import json, sys, time
from pathlib import Path
from edgesim.scenario.loader import load_scenario, prepare
path = Path(sys.argv[1])
scn, index, file = load_scenario(path)
run = prepare(scn, index, file, base_dir=path.parent)
c0, t0 = time.process_time(), time.perf_counter()
run.execute(threads=1)
c1, t1 = time.process_time(), time.perf_counter()
print(json.dumps({"requests": run.requests, "cpu_s": c1 - c0, "wall_s": t1 - t0}))
"""

SIMPY = r"""
import json, sys, time
from collections import OrderedDict
import numpy as np
import simpy
from edgesim.sim.context import SimContext
from edgesim.topology import LinkClass, load_world

duration_s, rate, groups, objects, object_bytes, edge_bytes = (
    float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
    int(sys.argv[5]), int(sys.argv[6]))
world = load_world("aws-world")
ctx = SimContext(world, seed=1)
clients = sorted((g for g in world.client_groups if g.carrier is None),
                 key=lambda g: (-g.population, g.id))[:groups]
pops = [p for p in world.edge_locations if p.tier == "edge"]
inet = ctx.one_way_ms(LinkClass.INTERNET)
cols = np.array([ctx.idx(p.key) for p in pops])
origin = ctx.idx("region:us-east-1")
access_rtt = world.params.access["fibre"].rtt_ms
edge_of, user_rtt_ms, origin_rtt_ms = [], [], []
for g in clients:
    d = inet[ctx.idx(g.key), cols]
    j = int(np.argmin(d))
    edge_of.append(j)
    user_rtt_ms.append(2 * float(d[j]) + access_rtt)
    origin_rtt_ms.append(2 * float(ctx.site_one_way_ms(np.array([cols[j]]), origin)[0]))
pop_share = np.array([g.population for g in clients], dtype=float)
pop_share /= pop_share.sum()
w = 1.0 / np.arange(1, objects + 1) ** 0.9
cdf = np.cumsum(w) / w.sum()
capacity = edge_bytes // object_bytes
caches = [OrderedDict() for _ in pops]
stats = {"requests": 0, "hits": 0, "latency_sum_ms": 0.0}
rng = np.random.default_rng(1)

def request(env, gi, obj):
    cache = caches[edge_of[gi]]
    wait_ms = user_rtt_ms[gi]
    if obj in cache:
        cache.move_to_end(obj)
        stats["hits"] += 1
    else:
        wait_ms += origin_rtt_ms[gi]
        cache[obj] = True
        if len(cache) > capacity:
            cache.popitem(last=False)
    yield env.timeout(wait_ms / 1000.0)
    stats["requests"] += 1
    stats["latency_sum_ms"] += wait_ms

def client(env, gi):
    lam = rate * pop_share[gi]
    while True:
        yield env.timeout(rng.exponential(1.0 / lam))
        obj = int(np.searchsorted(cdf, rng.random(), side="right"))
        env.process(request(env, gi, obj))

env = simpy.Environment()
for gi in range(len(clients)):
    env.process(client(env, gi))
c0, t0 = time.process_time(), time.perf_counter()
env.run(until=duration_s)
c1, t1 = time.process_time(), time.perf_counter()
print(json.dumps({"requests": stats["requests"], "cpu_s": c1 - c0, "wall_s": t1 - t0,
                  "hit_ratio": stats["hits"] / max(stats["requests"], 1)}))
"""


def run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)},
        cwd="/",
    )
    got: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=200, help="virtual seconds")
    ap.add_argument("--rate", type=float, default=2000.0, help="requests per second")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "simpy-compare.yaml"
        scenario.write_text(SCENARIO.format(duration=args.duration, rate=args.rate))
        ratios = []
        for _ in range(args.repeat):
            e = run(EDGESIM, str(scenario))
            s = run(
                SIMPY,
                str(args.duration),
                str(args.rate),
                str(GROUPS),
                str(OBJECTS),
                str(OBJECT_BYTES),
                str(EDGE_BYTES),
            )
            e_rate = e["requests"] / e["cpu_s"]
            s_rate = s["requests"] / s["cpu_s"]
            ratios.append(e_rate / s_rate)
            print(
                f"edgesim: {e['requests']:,.0f} req in {e['cpu_s']:.2f} s CPU ({e['wall_s']:.2f} s "
                f"wall) = {e_rate:,.0f} req/CPU-s | SimPy: {s['requests']:,.0f} req in "
                f"{s['cpu_s']:.2f} s CPU ({s['wall_s']:.2f} s wall) = {s_rate:,.0f} req/CPU-s, "
                f"edge hit ratio {s['hit_ratio']:.3f} | edgesim / SimPy = {ratios[-1]:.1f}×",
                flush=True,
            )
    print(
        time.strftime("measured %Y-%m-%d %H:%M UTC", time.gmtime()),
        os.uname().machine,
        f"{os.cpu_count()} cores",
    )


if __name__ == "__main__":
    main()
