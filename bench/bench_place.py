"""``edgesim place`` on the built-in world (bench/sweep-notes.md).

Cases (template ``scenarios/placement-template.yaml``: 200 metros, latency-routed API):

1. k=3 over the 32 regions, p95 objective, 5 finalists confirmed with full 10-minute runs,
   in-process: the target is ≤ 60 s for the whole command (analytical search + confirmation).
2. The same search for p99 and worst-p95 (analytical only).
3. Heuristic vs exhaustive: greedy + swaps against exhaustive search for k = 2 … 5 (the
   optimum, how many placements each scored, seconds).
4. k=3 over regions and Local Zones (66 sites; geoproximity template), analytical only.

Usage: .venv/bin/python bench/bench_place.py [--repeat 3] [--skip-confirm]
"""

from __future__ import annotations

import argparse
import copy
import math
import os
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
    from edgesim.sweep.core import load_base
    from edgesim.sweep.placement import build_model, candidate_sites, find_template, place, search
    from edgesim.topology import load_world

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-confirm", action="store_true")
    args = ap.parse_args()
    path = ROOT / "scenarios" / "placement-template.yaml"
    doc = load_base(path)

    if not args.skip_confirm:
        print("1. edgesim place --k 3 (32 regions), 5 finalists confirmed in full, in-process")
        totals = []
        for rep in range(args.repeat):
            before = loadavg()
            t0 = time.perf_counter()
            r = place(doc, k=3, finalists=5, base_dir=path.parent)
            dt = time.perf_counter() - t0
            totals.append(dt)
            best = r.finalists[0]
            print(
                f"   rep {rep}: total {dt:.1f} s (analytical {r.analytic_s:.1f} s, "
                f"{r.evaluated} placements, {r.method}); best {best['sites']} "
                f"p95 objective {best['objective_ms']['mean']:.1f} ms "
                f"(estimate {best['estimate_ms']:.1f}); load {before} -> {loadavg()}",
                flush=True,
            )
        print(f"   median {statistics.median(totals):.1f} s, best {min(totals):.1f} s")

    tpl = find_template(doc)
    world = load_world("aws-world")
    sites, _ = candidate_sites(world, "regions")
    t0 = time.perf_counter()
    model = build_model(doc, tpl, sites)
    print(f"\nmodel build (prepare the template, tables): {time.perf_counter() - t0:.2f} s")
    print("\n2./3. analytical search, exhaustive vs greedy+swap")
    print(
        "| k | objective | exhaustive: placements, s | greedy+swap: placements, s | same optimum |"
    )
    print("|--:|---|--:|--:|---|")
    cases = [(2, "p95"), (3, "p95"), (3, "p99"), (3, "worst-p95"), (4, "p95"), (5, "p95")]
    for k, objective in cases:
        t0 = time.perf_counter()
        full = search(model, k, objective, keep=1, force="exhaustive")
        t1 = time.perf_counter()
        heur = search(model, k, objective, keep=1, force="greedy+swap")
        t2 = time.perf_counter()
        gap = heur.ranked[0][0] / full.ranked[0][0] - 1
        same = "yes" if heur.ranked[0][1] == full.ranked[0][1] else f"no (+{gap * 100:.2f} %)"
        print(
            f"| {k} | {objective} | {math.comb(32, k):,}, {t1 - t0:.2f} | "
            f"{heur.evaluated:,}, {t2 - t1:.2f} | {same} |",
            flush=True,
        )

    print("\n4. regions + Local Zones, geoproximity, k=3, analytical")
    geo = copy.deepcopy(doc)
    rec = geo["route53"]["zones"][0]["records"][0]
    rec["policy"] = "geoproximity"
    rec.pop("region")
    rec["location"] = "us-east-1"
    gtpl = find_template(geo)
    gsites, _ = candidate_sites(world, "regions,local-zones")
    gmodel = build_model(geo, gtpl, gsites)
    t0 = time.perf_counter()
    full = search(gmodel, 3, "p95", keep=1, force="exhaustive")
    t1 = time.perf_counter()
    heur = search(gmodel, 3, "p95", keep=1, force="greedy+swap")
    t2 = time.perf_counter()
    print(
        f"   {len(gsites)} sites: exhaustive {full.evaluated:,} placements in {t1 - t0:.1f} s "
        f"-> {[gsites[i].key for i in full.ranked[0][1]]} {full.ranked[0][0]:.1f} ms; "
        f"greedy+swap {heur.evaluated:,} in {t2 - t1:.1f} s -> same: "
        f"{heur.ranked[0][1] == full.ranked[0][1]}"
    )
    print(f"load {loadavg()}")


if __name__ == "__main__":
    main()
