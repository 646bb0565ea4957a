"""Benchmark: simulated requests per second with compute models and deployments on the hot path.

Usage: python bench/bench_compute.py [--duration 5000s] [--plain]

Takes the reference scenario (bench/reference.yaml: aws-world, 200 metros, DNS, CloudFront
tiers; 10 M requests over 5,000 s) and gives every endpoint a compute model: the three API
endpoints become ECS services on Fargate (us-east-1), EC2 Auto Scaling groups (eu-west-1) and a
Lambda function (ap-northeast-1), the CloudFront origin becomes a Lambda function, and the API
in us-east-1 gets versions with a canary deployment that rolls back and a linear one that
succeeds. With ``--plain`` it also runs the unmodified reference for comparison. Runs in this
process pinned to one core and times ``Run.execute``, as bench/bench_scenario.py does. The
issue's target: scenarios using compute models keep ≥ 500,000 simulated requests/s.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent

COMPUTE: dict[str, dict[str, Any]] = {
    "use1": {
        "compute": {
            "type": "fargate",
            "desired": 16,
            "min": 8,
            "max": 64,
            "concurrency": 16,
            "image_size": "300MB",
        },
        "versions": {"v2": {"error_rate": "5%", "extra_latency": "20ms"}, "v3": {}},
    },
    "euw1": {"compute": {"type": "ec2", "desired": 16, "min": 8, "max": 64, "concurrency": 16}},
    "apne1": {"compute": {"type": "lambda", "runtime": "nodejs20.x", "memory": 1024}},
    "origin": {
        "compute": {"type": "lambda", "runtime": "python3.12", "memory": 1769, "init": "300ms"}
    },
}
TIMELINE = [
    {
        "at": "2m",
        "deploy": {
            "endpoint": "use1",
            "version": "v2",
            "config": "Canary10Percent5Minutes",
            "alarm": {"metric": "error_rate", "above": "2%", "periods": 2},
        },
    },
    {
        "at": "6m",
        "deploy": {"endpoint": "use1", "version": "v3", "config": "Linear10PercentEvery1Minute"},
    },
]


def compute_variant(text: str) -> str:
    doc = yaml.safe_load(text)
    doc["name"] = "reference benchmark with compute models"
    for ep in doc["endpoints"]:
        ep.pop("servers", None)
        ep.update(COMPUTE[ep["name"]])
    doc["timeline"] = TIMELINE
    return str(yaml.safe_dump(doc, sort_keys=False))


def measure(text: str, duration: str | None) -> dict[str, Any]:
    from edgesim.scenario.loader import load_scenario_text, prepare
    from edgesim.sim.report import build_report
    from edgesim.sim.results import Results

    scn, index, file = load_scenario_text(text)
    if duration:
        from edgesim.units import parse_duration_ns

        scn = scn.model_copy(update={"duration": parse_duration_ns(duration)})
    t0 = time.perf_counter()
    run = prepare(scn, index, file, base_dir=ROOT / "bench")
    t1 = time.perf_counter()
    run.execute()
    t2 = time.perf_counter()
    results = Results(run)
    results.report = build_report(results)
    t3 = time.perf_counter()
    return {
        "requests": run.requests,
        "prepare_s": t1 - t0,
        "execute_s": t2 - t1,
        "report_s": t3 - t2,
        "report": results.report,
    }


def show(label: str, m: dict[str, Any]) -> None:
    n = m["requests"]
    print(f"{label}: {n:,} simulated requests")
    print(
        f"  prepare {m['prepare_s']:.2f} s, execute {m['execute_s']:.2f} s, "
        f"report {m['report_s']:.2f} s; {n / m['execute_s']:,.0f} requests/s during execute"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", default=None, help="override the scenario's duration")
    ap.add_argument("--plain", action="store_true", help="also run the unmodified reference")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    text = (ROOT / "bench" / "reference.yaml").read_text()
    if args.plain:
        show("reference (fixed servers)", measure(text, args.duration))
    m = measure(compute_variant(text), args.duration)
    show("reference with compute models", m)
    eps = m["report"]["services"]["endpoints"]
    for name in ("apne1", "origin"):
        c = eps[name]["compute"]
        print(
            f"  {name}: lambda, {c['cold_starts']:,} cold starts, {c['throttled']:,} throttled, "
            f"peak concurrency {c['peak_concurrency']:,}"
        )
    for name in ("use1", "euw1"):
        c = eps[name]["compute"]
        print(f"  {name}: {c['type']}, units {c['units_at_start']} → {c['units_at_end']}")
    for d in eps["use1"]["deployments"]:
        print(
            f"  deploy {d['version']} ({d['config']}): {d['outcome']}, "
            f"exposure {d['exposure']['requests']:,} requests"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {rss:,.0f} MB")
    print(time.strftime("measured %Y-%m-%d"), os.uname().machine, f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
