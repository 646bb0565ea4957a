"""Tune the backbone constants of the latency model against the calibration matrix.

Usage: ``python scripts/calibrate.py [WORLD] [--csv FILE] [--no-fit]``

The calibration file holds measured median RTTs between 16 regions (cloudping.co, TCP connect
from a function in one region to a service endpoint in another; see data/SOURCES.md). For a
fixed choice of paths, a modelled RTT is linear in the constants::

    rtt = 2 * (f_t * L_t / v + f_s * L_s / v + h * N + 2 * g)

with L_t / L_s the great-circle km over terrestrial / submarine corridors (and site
attachments, which count as terrestrial), N the number of corridors, v the speed of light in
fibre, f_t / f_s the route factors, h the per-corridor cost and g the region ingress cost. So
the script alternates: route every pair with the current constants, then fit (f_t, f_s, h, g)
by least squares on the *relative* error, until the routes stop changing. The intra-region RTT
is the median of the diagonal. It prints the fitted constants and the model's error (median
and p90 absolute percentage error, and the worst pairs), which docs/latency-model.md reports.
Only this file is used for tuning; everything else the model says is a prediction.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from edgesim.latency import LatencyParams, path
from edgesim.latency.tables import rtt_matrix
from edgesim.topology import LinkClass, World, load_world

ROOT = Path(__file__).resolve().parent.parent


def read_matrix(path_: Path) -> dict[tuple[str, str], float]:
    with path_.open(encoding="utf-8") as fh:
        return {(r["src"], r["dst"]): float(r["rtt_p50_ms"]) for r in csv.DictReader(fh)}


def features(world: World, a: str, b: str) -> tuple[float, float, float, float]:
    res = path(world, f"region:{a}", f"region:{b}", [LinkClass.BACKBONE])
    lt = ls = n = 0.0
    for hop in res.hops:
        attrs = world.graph.edges[hop.src, hop.dst, "backbone"]
        if attrs["kind"] == "submarine":
            ls += attrs["gc_km"]
        else:
            lt += attrs["gc_km"]
        if attrs["kind"]:  # a corridor, not a site's attachment
            n += 1
    return lt, ls, n, 2.0


def errors(world: World, measured: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    regions = sorted({a for a, _ in measured})
    keys = [f"region:{r}" for r in regions]
    m = rtt_matrix(world, keys, keys, LinkClass.BACKBONE)
    out = {}
    for i, a in enumerate(regions):
        for j, b in enumerate(regions):
            if a != b:
                out[(a, b)] = (m[i, j] - measured[(a, b)]) / measured[(a, b)]
    return out


def summary(errs: dict[tuple[str, str], float]) -> tuple[float, float, float]:
    ape = np.abs(np.array(list(errs.values()))) * 100
    return float(np.median(ape)), float(np.percentile(ape, 90)), float(np.mean(ape))


def fit(world_name: str, measured: dict[tuple[str, str], float], rounds: int = 8) -> LatencyParams:
    params = LatencyParams()
    diag = [v for (a, b), v in measured.items() if a == b]
    params = params.model_copy(update={"intra_region_rtt_ms": round(float(np.median(diag)), 2)})
    pairs = [(a, b) for (a, b) in measured if a != b]
    previous: list[list[str]] | None = None
    for _ in range(rounds):
        world = load_world(world_name, params=params)
        routes = [
            path(world, f"region:{a}", f"region:{b}", [LinkClass.BACKBONE]).nodes for a, b in pairs
        ]
        x = np.array([features(world, a, b) for a, b in pairs])
        y = np.array([measured[p] for p in pairs])
        v = params.fibre_km_per_ms
        design = 2 * np.column_stack([x[:, 0] / v, x[:, 1] / v, x[:, 2], x[:, 3]])
        w = 1.0 / y  # relative error
        coef, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
        ft, fs, h, g = (float(c) for c in coef)
        params = params.model_copy(
            update={
                "terrestrial_route_factor": round(max(1.0, ft), 3),
                "submarine_route_factor": round(max(1.0, fs), 3),
                "backbone_hop_one_way_ms": round(max(0.0, h), 3),
                "region_ingress_one_way_ms": round(max(0.0, g), 3),
            }
        )
        if routes == previous:
            break
        previous = routes
    return params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("world", nargs="?", default="aws-world")
    ap.add_argument(
        "--csv",
        type=Path,
        default=ROOT / "data" / "calibration" / "inter-region-rtt-calibration.csv",
    )
    ap.add_argument(
        "--no-fit", action="store_true", help="only report the current constants' error"
    )
    args = ap.parse_args()
    measured = read_matrix(args.csv)
    if args.no_fit:
        params = LatencyParams()
    else:
        params = fit(args.world, measured)
        print("fitted constants:")
        for name in (
            "terrestrial_route_factor",
            "submarine_route_factor",
            "backbone_hop_one_way_ms",
            "region_ingress_one_way_ms",
            "intra_region_rtt_ms",
        ):
            print(f"  {name} = {getattr(params, name)}")
    world = load_world(args.world, params=params)
    errs = errors(world, measured)
    med, p90, mean = summary(errs)
    print(
        f"absolute percentage error over {len(errs)} directed pairs: median {med:.1f} %, "
        f"p90 {p90:.1f} %, mean {mean:.1f} %"
    )
    worst = sorted(errs.items(), key=lambda kv: -abs(kv[1]))[:12]
    print("worst pairs (model vs measured):")
    regions = sorted({a for a, _ in measured})
    keys = [f"region:{r}" for r in regions]
    m = rtt_matrix(world, keys, keys, LinkClass.BACKBONE)
    pos = {r: i for i, r in enumerate(regions)}
    for (a, b), e in worst:
        print(
            f"  {a:>15} → {b:<15} model {m[pos[a], pos[b]]:6.1f} ms  measured "
            f"{measured[(a, b)]:6.1f} ms  ({e * 100:+.0f} %)"
        )


if __name__ == "__main__":
    main()
