"""Benchmark: simulated requests per second with every request through Global Accelerator.

Usage: python bench/bench_accelerator.py [--duration 5000s] [--profile]

The GA reference scenario (below, written to a temporary file): aws-world, 200 client metros at
2,000 requests/s for 5,000 s of virtual time (10 million requests), all of them to an API
behind an accelerator (a Route 53 alias to it) with endpoint groups in three Regions, 10 s
health checks and one Region failing for 15 minutes. Runs in this process pinned to one core,
like bench/bench_scenario.py; the target (issue 6) is the engine's 500,000 requests/s.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

SCENARIO = """\
edgesim: 1
name: accelerator benchmark
world: aws-world
seed: 1
duration: 5000s
interval: 5m
clients:
  - name: users
    metros: top-200
    requests_per_second: 2000
    access: {fibre: 0.4, cable: 0.3, 4g: 0.2, 5g: 0.1}
    resolvers: {isp: 0.6, public-ecs: 0.3, public-no-ecs: 0.1}
workloads:
  - {name: api, host: api.example.com, method: POST, size: 2KB}
endpoints:
  - {name: use1, site: region:us-east-1, servers: 512}
  - {name: euw1, site: region:eu-west-1, servers: 512}
  - {name: apne1, site: region:ap-northeast-1, servers: 512}
accelerators:
  - name: api
    listeners:
      - port_ranges: [443]
        client_affinity: NONE
        endpoint_groups:
          - {region: us-east-1, health_check: {interval: 10s}, endpoints: [{endpoint: use1}]}
          - {region: eu-west-1, health_check: {interval: 10s}, endpoints: [{endpoint: euw1}]}
          - {region: ap-northeast-1, health_check: {interval: 10s},
             endpoints: [{endpoint: apne1}]}
route53:
  zones:
    - name: example.com
      records:
        - {name: api, alias: accelerator:api}
timeline:
  - {at: 2000s, fail: region:eu-west-1}
  - {at: 2900s, recover: region:eu-west-1}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", default=None, help="override the scenario's duration")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t0 = time.perf_counter()
    from edgesim.scenario.loader import load_scenario, prepare
    from edgesim.sim.report import build_report
    from edgesim.sim.results import Results

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accelerator-bench.yaml"
        path.write_text(SCENARIO, encoding="utf-8")
        scn, index, file = load_scenario(path)
    if args.duration:
        from edgesim.units import parse_duration_ns

        scn = scn.model_copy(update={"duration": parse_duration_ns(args.duration)})
    t_load = time.perf_counter()
    run = prepare(scn, index, file)
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
    acc = results.report["services"]["accelerators"]["accelerators"]["api"]
    vs = acc["vs_internet"]["all"]
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
        f"  peak RSS {rss:,.0f} MB; failovers {acc['failovers']:,}, fail-open "
        f"{acc['fail_open']:,}; mean {vs['accelerator_ms']['mean']:.1f} ms through the "
        f"accelerator vs {vs['internet_ms']['mean']:.1f} ms over the internet "
        f"({vs['improvement_pct']['mean']:+.1f} %)"
    )
    print(time.strftime("measured %Y-%m-%d"), os.uname().machine, f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
