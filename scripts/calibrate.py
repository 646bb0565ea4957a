"""Fit the latency model's backbone constants to the calibration matrix, and cross-validate.

Usage: ``python scripts/calibrate.py [WORLD] [--csv FILE] [--no-fit] [--cv] [--write]``

The calibration file holds measured median RTTs between 16 regions (cloudping.co, TCP connect
from a function in one region to a service endpoint in another; see data/SOURCES.md). The
fitting is :func:`edgesim.latency.fit.fit` (I/O-free; docs/latency-model.md#calibration):
route every pair with the current constants, fit ``terrestrial_route_factor``,
``submarine_route_factor``, ``backbone_hop_one_way_ms`` and ``region_ingress_one_way_ms`` by
least squares on the relative error (weak ridge towards the defaults), plus a route factor for
every corridor that at least 6 measured routes cross (stronger ridge), until the routes stop
changing. The intra-region RTT is the median of the diagonal.

``--cv`` scores the same method by leave-one-region-out cross-validation: for each of the 16
regions, fit on the 210 pairs not touching it and predict the 30 that do. ``--write`` stores
the corridor factors in data/calibration/fitted-corridors.csv, which
``scripts/build_aws_world.py`` writes into the topology; the constants go into
``edgesim/latency/params.py`` by hand (printed below). Only this file is used for tuning.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

from edgesim.latency import fit as F  # noqa: N812
from edgesim.topology.loader import topology_path
from edgesim.topology.schema import TopologyFile
from edgesim.yamlio import load_yaml_fast

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "data" / "calibration" / "inter-region-rtt-calibration.csv"
FITTED = ROOT / "data" / "calibration" / "fitted-corridors.csv"
NAMES = (
    "terrestrial_route_factor",
    "submarine_route_factor",
    "backbone_hop_one_way_ms",
    "region_ingress_one_way_ms",
)


def read_matrix(path_: Path) -> list[F.Measurement]:
    with path_.open(encoding="utf-8") as fh:
        return [
            F.Measurement(
                f"region:{r['src']}", f"region:{r['dst']}", float(r["rtt_p50_ms"]), f"{i + 2}"
            )
            for i, r in enumerate(csv.DictReader(fh))
        ]


def base_topology(world: str) -> TopologyFile:
    """The world without fitted corridor factors (the fit starts from each kind's factor)."""
    topo = TopologyFile.model_validate(load_yaml_fast(topology_path(world)))
    cors = [c.model_copy(update={"route_factor": None}) for c in topo.corridors]
    return topo.model_copy(update={"corridors": cors, "latency": None})


def fitter(topo: TopologyFile) -> F.Fitter:
    def run(train: Sequence[F.Measurement]) -> F.FitResult:
        return F.fit(topo, train, names=NAMES, corridors=True)

    return run


def show(title: str, rep: F.ErrorReport, k: int = 10) -> None:
    print(
        f"{title}: {rep.n} directed pairs, median {rep.median_pct:.1f} %, p90 "
        f"{rep.p90_pct:.1f} %, mean {rep.mean_pct:.1f} %, signed median {rep.bias_pct:+.1f} %"
    )
    print("  worst pairs (model vs measured; a pair tested in two folds is listed once):")
    seen: set[tuple[str, str]] = set()
    worst = []
    for e in rep.worst(rep.n):
        if (e.src, e.dst) not in seen and len(worst) < k:
            seen.add((e.src, e.dst))
            worst.append(e)
    for e in worst:
        a, b = e.src.split(":", 1)[1], e.dst.split(":", 1)[1]
        print(
            f"    {a:>15} → {b:<15} model {e.model_ms:6.1f} ms  measured "
            f"{e.measured_ms:6.1f} ms  ({e.rel * 100:+.0f} %)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("world", nargs="?", default="aws-world")
    ap.add_argument(
        "--csv",
        type=Path,
        default=MATRIX,
    )
    ap.add_argument("--no-fit", action="store_true", help="only report the world's error as is")
    ap.add_argument("--cv", action="store_true", help="leave-one-region-out cross-validation")
    ap.add_argument("--write", action="store_true", help=f"write {FITTED.relative_to(ROOT)}")
    args = ap.parse_args()
    measured = read_matrix(args.csv)
    pairs = [m for m in measured if m.src != m.dst]
    if args.no_fit:
        from edgesim.topology import load_world

        show("error of the world as built", F.report(load_world(args.world), pairs))
        return
    topo = base_topology(args.world)
    res = fitter(topo)(measured)
    print("fitted constants (edgesim/latency/params.py):")
    for name in (*NAMES, "intra_region_rtt_ms"):
        print(f"  {name} = {getattr(res.params, name)}")
    print(f"fitted corridor route factors ({len(res.corridor_factors)}):")
    rows = []
    for ci, f in sorted(res.corridor_factors.items()):
        c = topo.corridors[ci]
        kind_f = getattr(res.params, f"{c.kind}_route_factor")
        rows.append((c.a, c.b, round(f, 3)))
        print(f"  {c.a}-{c.b} ({c.kind}): {f:.3f} (its kind: {kind_f})")
    world = F.world_with(topo, res.params, res.corridor_factors)
    show("in-sample error", F.report(world, pairs))
    if args.cv:
        cv = F.cross_validate(topo, measured, fitter(topo), F.region_folds(measured))
        show("leave-one-region-out cross-validated error", cv)
    if args.write:
        with FITTED.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["a", "b", "route_factor"])
            w.writerows(rows)
        print(f"wrote {FITTED.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
