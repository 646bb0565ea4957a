"""``edgesim topo``: inspect a world (counts, paths, latency matrices and maps)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from edgesim.cli.calibrate import compare
from edgesim.cli.common import console as _console
from edgesim.cli.common import friendly
from edgesim.errors import InputError
from edgesim.report.output import atomic_write

# ---- topo ----------------------------------------------------------------------------------


@click.group()
def topo() -> None:
    """Inspect a world: counts, paths, latency matrices and maps."""


def _load(world: str) -> Any:
    from edgesim.topology import load_world

    return load_world(world)


@topo.command("show")
@click.argument("world")
@click.option("--json", "as_json", is_flag=True, help="print counts as JSON")
@friendly
def topo_show(world: str, as_json: bool) -> None:
    """Counts by kind and a summary of WORLD (a built-in name such as aws-world, or a file)."""
    from edgesim.topology import NodeKind
    from edgesim.topology.summary import summarise

    w = _load(world)
    summary = summarise(w)
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    console = _console()
    console.print(f"[bold]{w.name}[/]: {w.description}")
    t = Table(title="Nodes by kind")
    t.add_column("kind")
    t.add_column("count", justify="right")
    labels = {
        NodeKind.HUB: "fibre hubs",
        NodeKind.REGION: "regions",
        NodeKind.POP: "edge locations (incl. regional edge caches)",
        NodeKind.LOCAL_ZONE: "Local Zones",
        NodeKind.WAVELENGTH_ZONE: "Wavelength zones",
        NodeKind.OUTPOST: "Outposts",
        NodeKind.CLIENT: "client groups",
        NodeKind.RESOLVER: "public resolver sites",
    }
    for kind, n in summary["nodes"].items():
        t.add_row(labels.get(NodeKind(kind), kind), str(n))
    t.add_row("regional edge caches", str(summary["regional_edge_caches"]))
    console.print(t)
    lt = Table(title="Links by class")
    lt.add_column("class")
    lt.add_column("count", justify="right")
    for cls, n in summary["links"].items():
        lt.add_row(cls, str(n))
    console.print(lt)
    rt = Table(title="Regions: nearest edge location and the farthest-away region")
    for col in ("region", "city", "AZs", "nearest PoP", "RTT ms", "farthest region", "RTT ms "):
        rt.add_column(col, justify="right" if col.startswith("RTT") else "left")
    for row in summary["regions"]:
        rt.add_row(
            row["code"],
            row["city"],
            str(row["azs"]),
            row["nearest_pop"] or "-",
            _fmt(row["nearest_pop_rtt_ms"]),
            row["farthest_region"] or "-",
            _fmt(row["farthest_region_rtt_ms"]),
        )
    console.print(rt)
    console.print(
        f"client groups: {summary['client_population']:,} people in "
        f"{summary['nodes'].get('client', 0)} groups; median RTT to the nearest edge location "
        f"{_fmt(summary['median_client_nearest_pop_rtt_ms'])} ms"
    )


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


@topo.command("path")
@click.argument("world")
@click.argument("src")
@click.argument("dst")
@click.option(
    "--via",
    type=click.Choice(["auto", "internet", "backbone"]),
    default="auto",
    show_default=True,
    help="user to region: over the public internet, or to the nearest edge then the backbone",
)
@click.option(
    "--access",
    type=click.Choice(["fibre", "cable", "dsl", "4g", "5g"]),
    default=None,
    help="override the user's access network",
)
@click.option("--json", "as_json", is_flag=True, help="print the breakdown as JSON")
@friendly
def topo_path(world: str, src: str, dst: str, via: str, access: str | None, as_json: bool) -> None:
    """Per-hop latency breakdown from SRC to DST (ids such as tokyo, NRT57, us-east-1)."""
    from edgesim.latency.query import route

    w = _load(world)
    result = route(w, w.resolve(src), w.resolve(dst), via=via, access=access)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    console = _console()
    t = Table(title=f"{result.src} → {result.dst}  ({result.great_circle_km:,.0f} km great circle)")
    for col in (
        "from",
        "to",
        "link",
        "km",
        "propagation",
        "access",
        "processing",
        "queueing",
        "hop",
    ):
        t.add_column(col, justify="left" if col in ("from", "to", "link") else "right")
    for h in result.hops:
        t.add_row(
            h.src,
            h.dst,
            h.link_class,
            f"{h.distance_km:,.0f}",
            f"{h.propagation_one_way_ms:.2f}",
            f"{h.access_one_way_ms:.2f}",
            f"{h.processing_one_way_ms:.2f}",
            f"{h.queueing_one_way_ms:.2f}",
            f"{h.one_way_ms:.2f}",
        )
    console.print(t)
    console.print("(all hop figures are one-way milliseconds)")
    console.print(
        f"one-way [bold]{result.one_way_ms:.1f} ms[/], round trip [bold]{result.rtt_ms:.1f} ms[/]; "
        f"fibre floor for the great-circle distance {result.fibre_floor_rtt_ms(w):.1f} ms RTT"
    )


@topo.command("matrix")
@click.argument("world")
@click.option(
    "--kind",
    "kind",
    type=click.Choice(["region", "pop", "rec", "lz", "client"]),
    default="region",
    show_default=True,
    help="rows",
)
@click.option(
    "--to-kind",
    type=click.Choice(["region", "pop", "rec", "lz", "client"]),
    default=None,
    help="columns (default: same as --kind)",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@friendly
def topo_matrix(world: str, kind: str, to_kind: str | None, output: Path | None) -> None:
    """CSV of round-trip times (ms) between every pair of sites of a kind."""
    from edgesim.latency.query import rtt_table
    from edgesim.outputs import check_outputs

    check_outputs(("--output", output))
    w = _load(world)
    rows, cols, m = rtt_table(w, kind, to_kind or kind)
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["rtt_ms", *cols])
    for r, vals in zip(rows, m, strict=True):
        wr.writerow([r, *("" if v == float("inf") else f"{v:.2f}" for v in vals)])
    if output is None:
        click.echo(buf.getvalue(), nl=False)
    else:
        atomic_write(output, buf.getvalue())
        click.echo(f"wrote {len(rows)}×{len(cols)} RTT matrix to {output}", err=True)


@topo.command("map")
@click.argument("world")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("map.png")
)
@friendly
def topo_map(world: str, output: Path) -> None:
    """Draw WORLD's sites and backbone corridors on a world map (PNG, SVG or PDF)."""
    from edgesim.outputs import check_outputs
    from edgesim.report.plot import draw_world_map

    check_outputs(("--output", output))
    w = _load(world)
    if output.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError.single(
            f"cannot write a map as '{output.suffix or 'no extension'}'",
            path="--output",
            expected="a file name ending in .png, .svg or .pdf",
        )
    draw_world_map(w, output)
    click.echo(f"wrote {output}", err=True)


@topo.command("synthetic")
@click.option("--clients", type=int, default=1000, show_default=True, help="client groups")
@click.option("--pops", type=int, default=1000, show_default=True, help="edge locations")
@click.option("--regions", type=int, default=64, show_default=True)
@click.option("--hubs", type=int, default=300, show_default=True, help="fibre junctions")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the world here (default: stdout)",
)
@friendly
def topo_synthetic(
    clients: int, pops: int, regions: int, hubs: int, seed: int, output: Path | None
) -> None:
    """Write a random but well-formed world of any size (for benchmarks and tests)."""
    from edgesim.outputs import check_outputs
    from edgesim.topology.synthetic import (
        check_synthetic_args,
        synthetic_topology,
        topology_yaml,
    )

    check_synthetic_args(clients=clients, pops=pops, regions=regions, hubs=hubs)
    if output is not None and str(output) != "-":
        check_outputs(("--output", output))
    world = synthetic_topology(hubs=hubs, regions=regions, pops=pops, clients=clients, seed=seed)
    text = topology_yaml(world)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
    else:
        atomic_write(output, text)
        click.echo(
            f"wrote {output}: {clients} client groups, {pops} PoPs, {regions} regions, "
            f"{hubs} hubs (seed {seed})",
            err=True,
        )


topo.add_command(compare)  # edgesim topo compare WORLD MEASUREMENTS
