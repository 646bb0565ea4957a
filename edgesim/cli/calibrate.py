"""``edgesim calibrate`` and ``edgesim topo compare``: a world against the user's own RTTs.

The fitting and scoring are :mod:`edgesim.latency.fit` and the parsing and placing
:mod:`edgesim.latency.measurements` (both I/O-free); this module reads the files, prints the
report and writes the calibrated world. Registered in :data:`edgesim.cli.COMMANDS`
(``calibrate``) and on ``edgesim topo`` (``compare``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import yaml

from edgesim.cli.common import friendly
from edgesim.errors import InputError


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError.single(f"cannot read it: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError.single("not UTF-8 text", file=str(path)) from None


def _load_measurements(
    topo: Any, measurements: Path, locations: Path | None, fibre_km_per_ms: float
) -> tuple[Any, list[Any]]:
    """(placer, measurements) from a CSV or RIPE Atlas JSON file."""
    from edgesim.latency import measurements as M  # noqa: N812

    text = _read(measurements)
    file = str(measurements)
    if measurements.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        if locations is None:
            raise InputError.single(
                "RIPE Atlas results need a location map",
                file=file,
                expected="--locations FILE (a CSV with id,location for probes and targets)",
            )
        locs = M.parse_locations(_read(locations), str(locations))
        rows = M.parse_atlas(text, file, locs, str(locations))
    else:
        rows = M.parse_csv(text, file)
    placer = M.Placer(topo)
    return placer, M.place_all(rows, placer, file, fibre_km_per_ms)


def _print_report(title: str, rep: Any, worst: int) -> None:
    if rep.n == 0:
        click.echo(f"{title}: no pairs")
        return
    finite = all(math.isfinite(e.model_ms) for e in rep.errors)
    click.echo(
        f"{title}: {rep.n} measurements, absolute error median {rep.median_pct:.1f} %, "
        f"p90 {rep.p90_pct:.1f} %, mean {rep.mean_pct:.1f} %; signed median "
        f"{rep.bias_pct:+.1f} %" + ("" if finite else " (some pairs have no path)")
    )


def _print_worst(rep: Any, worst: int) -> None:
    if worst <= 0 or rep.n == 0:
        return
    click.echo(f"pairs that disagree most (model vs measured, top {min(worst, rep.n)}):")
    for e in rep.worst(worst):
        click.echo(
            f"  {e.src:>28} → {e.dst:<28} model {e.model_ms:8.1f} ms  measured "
            f"{e.measured_ms:8.1f} ms  ({e.rel * 100:+.0f} %)"
        )


def _topology(world: str) -> Any:
    from edgesim.topology.loader import load_topology_file

    topo, _ = load_topology_file(world)
    return topo


@click.command("calibrate")
@click.argument("measurements", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="write the calibrated world here (YAML)",
)
@click.option("--world", default="aws-world", show_default=True, help="the world to start from")
@click.option(
    "--locations",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="RIPE Atlas input: CSV id,location placing every probe and target",
)
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the k folds")
@click.option(
    "--corrections/--no-corrections",
    default=True,
    show_default=True,
    help="fit per-corridor route factors and per-site ingress where enough pairs support them",
)
@click.option("--worst", type=int, default=10, show_default=True, help="pairs to list")
@friendly
def calibrate(
    measurements: Path,
    output: Path,
    world: str,
    locations: Path | None,
    folds: int,
    seed: int,
    corrections: bool,
    worst: int,
) -> None:
    """Fit the latency model's constants to MEASUREMENTS and write a calibrated world.

    MEASUREMENTS: a CSV with src,dst,rtt_ms (regions, PoP codes, metros or "lat,lon"), or RIPE
    Atlas ping results (JSON) with --locations. Prints the fit's error, a k-fold
    cross-validated error and the pairs that disagree most.
    """
    from edgesim.latency import fit as F  # noqa: N812
    from edgesim.topology.builder import make_params

    topo = _topology(world)
    params = make_params(topo)
    placer, ms = _load_measurements(topo, measurements, locations, params.fibre_km_per_ms)
    full = placer.topology()

    def fitter(train: Sequence[Any]) -> Any:
        return F.fit(
            full, train, params=params, corridors=corrections, sites=corrections, ridge=0.02
        )

    before = F.report(F.world_with(full, params), ms)
    res = fitter(ms)
    after = F.report(res.world(full), ms)
    _print_report("before (the world as it was)", before, worst)
    _print_report("fit (on all the data)", after, worst)
    n_pairs = len({tuple(sorted(m.pair)) for m in ms if m.src != m.dst})
    k = min(folds, n_pairs)
    if k >= 2:
        cv = F.cross_validate(full, ms, fitter, F.k_folds(ms, k, seed))
        _print_report(f"{k}-fold cross-validated (pairs the fit did not see)", cv, worst)
    else:
        click.echo("cross-validation: not enough distinct pairs")
    _print_worst(after, worst)
    changed = {
        n: getattr(res.params, n)
        for n in (*F.BACKBONE_CONSTANTS, *F.INTERNET_CONSTANTS, "intra_region_rtt_ms")
        if getattr(res.params, n) != getattr(params, n)
    }
    click.echo(
        "fitted constants: "
        + (", ".join(f"{n} = {v:g}" for n, v in changed.items()) or "none changed")
    )
    click.echo(
        f"corrections: {len(res.corridor_factors)} corridor route factors, "
        f"{len(res.site_ingress)} site ingress costs"
    )
    out_topo = res.apply(topo)
    data = out_topo.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data = {"edgesim": 1, **data}
    head = (
        f"# calibrated by edgesim calibrate from {measurements.name} ({len(ms)} measurements),\n"
        f"# starting from {world}: error median {before.median_pct:.1f} % -> "
        f"{after.median_pct:.1f} %\n"
    )
    text = head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError.single(f"cannot write it: {exc.strerror}", file=str(output)) from None
    click.echo(f"wrote {output}")


@click.command("compare")
@click.argument("world")
@click.argument("measurements", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--locations",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="RIPE Atlas input: CSV id,location placing every probe and target",
)
@click.option("--worst", type=int, default=10, show_default=True, help="pairs to list")
@friendly
def compare(world: str, measurements: Path, locations: Path | None, worst: int) -> None:
    """How far WORLD is from MEASUREMENTS (same inputs as calibrate; nothing is fitted)."""
    from edgesim.latency import fit as F  # noqa: N812
    from edgesim.topology.builder import build_world, make_params

    topo = _topology(world)
    params = make_params(topo)
    placer, ms = _load_measurements(topo, measurements, locations, params.fibre_km_per_ms)
    rep = F.report(build_world(placer.topology()), ms)
    _print_report(f"{world} against {measurements.name}", rep, worst)
    _print_worst(rep, worst)
