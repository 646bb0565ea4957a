"""The ``edgesim`` command line (a thin shell over the I/O-free core)."""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from edgesim import __version__
from edgesim.errors import InputError, Problem

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _console() -> Console:
    """Stdout console; wide enough for hop tables when output goes to a file or pipe."""
    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 160)


def friendly(func: F) -> F:
    """Turn :class:`InputError` into a short message and exit status 2 (never a traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            err_console.print(
                "[bold red]error:[/] " + rich_escape(exc.render()), markup=True, highlight=False
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgesim")
def main() -> None:
    """edgesim: what latency will your users see, and what happens when things fail?"""


# ---- topo ----------------------------------------------------------------------------------


@main.group()
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
        _atomic_write(output, buf.getvalue())
        click.echo(f"wrote {len(rows)}×{len(cols)} RTT matrix to {output}", err=True)


@topo.command("map")
@click.argument("world")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("map.png")
)
@friendly
def topo_map(world: str, output: Path) -> None:
    """Draw WORLD's sites and backbone corridors on a world map (PNG, SVG or PDF)."""
    from edgesim.plot import draw_world_map

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
    from edgesim.topology.synthetic import (
        check_synthetic_args,
        synthetic_topology,
        topology_yaml,
    )

    check_synthetic_args(clients=clients, pops=pops, regions=regions, hubs=hubs)
    topo = synthetic_topology(hubs=hubs, regions=regions, pops=pops, clients=clients, seed=seed)
    text = topology_yaml(topo)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
    else:
        _atomic_write(output, text)
        click.echo(
            f"wrote {output}: {clients} client groups, {pops} PoPs, {regions} regions, "
            f"{hubs} hubs (seed {seed})",
            err=True,
        )


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# ---- run / check --------------------------------------------------------------------------


def _run_with_progress(
    scenario: Path, seed: int | None, quiet: bool, threads: int | None = None
) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from edgesim.sim.api import run_scenario

    if quiet or not err_console.is_terminal:
        return run_scenario(scenario, seed=seed, threads=threads)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[vt]} of virtual time, {task.fields[req]} requests"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(scenario.name, total=1.0, vt="0s", req="0")

        def update(p: Any) -> None:
            bar.update(
                task,
                completed=p.done_ns / max(p.total_ns, 1),
                vt=f"{p.done_ns / 1e9:,.0f}s",
                req=f"{p.requests:,}",
            )

        return run_scenario(scenario, seed=seed, on_progress=update, threads=threads)


def _summary_table(report: dict[str, Any], limit: int = 15) -> Table:
    t = Table(
        title=f"{report['scenario']} — {report['simulated_requests']:,} requests over "
        f"{report['duration_s']:,.0f} s (seed {report['seed']})"
        + ("" if report["complete"] else "  [INCOMPLETE: interrupted]")
    )
    for col in (
        "scope",
        "requests",
        "avail %",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "dns",
        "connect",
        "tls",
        "wait",
        "transfer",
    ):
        t.add_column(col, justify="left" if col == "scope" else "right")

    def row(name: str, b: dict[str, Any]) -> None:
        lat, ph = b["latency_ms"], b["phases_mean_ms"]
        t.add_row(
            name,
            f"{b['requests']:,}",
            f"{b['availability'] * 100:.2f}",
            f"{lat['p50']:.1f}",
            f"{lat['p95']:.1f}",
            f"{lat['p99']:.1f}",
            *(f"{ph[p]:.1f}" for p in ("dns", "connect", "tls", "wait", "transfer")),
        )

    row("all", report["summary"])
    for name, b in report["workloads"].items():
        row(f"workload {name}", b)
    groups = sorted(report["groups"].items(), key=lambda kv: -kv[1]["requests"])
    for name, b in groups[:limit]:
        row(f"group {name}", b)
    if len(groups) > limit:
        t.caption = f"{len(groups) - limit} more groups in the JSON report; phases are mean ms"
    else:
        t.caption = "phases are mean ms of successful requests"
    return t


def _print_assertions(console: Console, report: dict[str, Any]) -> bool:
    ok = True
    for a in report["assertions"]:
        mark = "[green]PASS[/]" if a["ok"] else "[red]FAIL[/]"
        val = a.get("error") or a["value"]
        console.print(f"{mark} {a['assertion']}  (got {val})")
        ok = ok and a["ok"]
    return ok


@main.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=None, help="override the scenario's seed")
@click.option(
    "--replications",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="run N seeds (seed, seed+1, …) and report 95 % confidence intervals",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the JSON report here ('-' for stdout)",
)
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the time series as CSV",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write an HTML report with plots",
)
@click.option(
    "--save-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="save this run's report as a baseline for edgesim check",
)
@click.option("-q", "--quiet", is_flag=True, help="no progress bar or table")
@click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=None,
    help="threads for one run (default: the machine's cores); the report is the same for any",
)
@friendly
def run_cmd(
    scenario: Path,
    seed: int | None,
    replications: int,
    json_out: Path | None,
    csv_out: Path | None,
    html_out: Path | None,
    save_baseline: Path | None,
    quiet: bool,
    threads: int | None,
) -> None:
    """Run SCENARIO in virtual time and report what its users experienced."""
    from edgesim.sim.report import atomic_write, dumps, timeseries_csv

    console = _console()
    results = _run_with_progress(scenario, seed, quiet or str(json_out) == "-", threads)
    report = results.report
    if replications > 1:
        from edgesim.sim.replicate import replicate

        report = replicate(scenario, report, replications)
    text = dumps(report)
    if json_out is not None:
        if str(json_out) == "-":
            click.echo(text, nl=False)
        else:
            atomic_write(json_out, text)
    if csv_out is not None:
        atomic_write(csv_out, timeseries_csv(report))
    if html_out is not None:
        from edgesim.sim.html import render_html

        atomic_write(html_out, render_html(report, results))
    if save_baseline is not None:
        if report["complete"]:
            atomic_write(save_baseline, text)
        else:
            err_console.print("[yellow]not saving an interrupted run as a baseline[/]")
    if str(json_out) != "-" and not quiet:
        console.print(_summary_table(report))
        if "replications" in report:
            console.print(_replication_table(report))
    ok = _print_assertions(console if str(json_out) != "-" else err_console, report)
    if not report["complete"]:
        err_console.print("[yellow]interrupted: the report covers the run up to that moment[/]")
        sys.exit(130)
    if not ok:
        sys.exit(1)


def _replication_table(report: dict[str, Any]) -> Table:
    rep = report["replications"]
    t = Table(
        title=f"{rep['n']} replications (seeds {rep['seeds'][0]}…{rep['seeds'][-1]}): "
        "mean ± 95 % CI"
    )
    t.add_column("scope")
    for col in ("p50 ms", "p95 ms", "p99 ms", "availability %"):
        t.add_column(col, justify="right")
    for scope, m in rep["metrics"].items():
        t.add_row(
            scope,
            *(f"{m[k]['mean']:.1f} ± {m[k]['ci95']:.1f}" for k in ("p50", "p95", "p99")),
            f"{m['availability']['mean'] * 100:.3f} ± {m['availability']['ci95'] * 100:.3f}",
        )
    return t


@main.command("check")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="a report saved with edgesim run --save-baseline",
)
@click.option(
    "--tolerance",
    default="5%",
    show_default=True,
    help="how much worse a metric may get (relative), e.g. 5% or 0.05",
)
@click.option("--seed", type=int, default=None)
@friendly
def check_cmd(scenario: Path, baseline: Path, tolerance: str, seed: int | None) -> None:
    """Re-run SCENARIO and exit 1 if it is worse than BASELINE beyond the tolerance."""
    from edgesim.sim.api import run_scenario
    from edgesim.sim.compare import compare
    from edgesim.units import parse_fraction

    try:
        tol = parse_fraction(tolerance)
    except ValueError as exc:
        raise InputError.single(str(exc), path="--tolerance", expected="e.g. 5% or 0.05") from None
    try:
        base = json.loads(baseline.read_text(encoding="utf-8"))
        if base.get("edgesim_report") != 1:
            raise ValueError("not an edgesim report")
    except FileNotFoundError:
        raise InputError.single("baseline file not found", file=str(baseline)) from None
    except (ValueError, AttributeError) as exc:
        raise InputError.single(
            f"not a baseline report: {exc}",
            file=str(baseline),
            expected="a JSON file written by edgesim run --save-baseline",
        ) from None
    current = run_scenario(scenario, seed=seed).report
    if not current["complete"]:
        err_console.print("[yellow]interrupted: nothing compared[/]")
        sys.exit(130)
    changes = compare(base, current, tol)
    worse = [c for c in changes if c.worse]
    console = _console()
    if worse:
        t = Table(
            title=f"{len(worse)} metric(s) worse than the baseline by more than {tol * 100:g} %"
        )
        for col in ("scope", "metric", "baseline", "now", "change"):
            t.add_column(col, justify="left" if col in ("scope", "metric") else "right")
        for c in sorted(worse, key=lambda c: (c.scope, c.metric)):
            t.add_row(c.scope, c.metric, f"{c.baseline:.4g}", f"{c.current:.4g}", c.change)
        console.print(t)
        sys.exit(1)
    console.print(f"[green]OK[/]: {len(changes)} metrics within {tol * 100:g} % of the baseline")


# ---- dns ----------------------------------------------------------------------------------


@main.group()
def dns() -> None:
    """A real DNS server for a scenario's Route 53 zones."""


@dns.command("serve")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--listen", default="127.0.0.1:5353", show_default=True, help="HOST:PORT")
@click.option(
    "--origin",
    default=None,
    help="zone files: the zone's origin when the file has no $ORIGIN (default: file name)",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.001, max=1e6),
    default=1.0,
    show_default=True,
    help="scenarios: virtual seconds of the timeline per wall second",
)
@click.option(
    "--control",
    default=None,
    help="scenarios: serve the control API on HOST:PORT (token from EDGESIM_TOKEN or printed)",
)
@friendly
def dns_serve(
    source: Path, listen: str, origin: str | None, speed: float, control: str | None
) -> None:
    """Answer DNS over UDP and TCP for a SCENARIO's Route 53 zones, or a BIND zone file.

    With a scenario, client group i asks from 127.1.(i // 256).(i % 256) (dig -b) or with ECS
    (+subnet); the timeline plays in wall time (--speed) and health checks run, so answers
    change live; --control adds an HTTP API to apply events now.
    """
    import os
    import secrets

    from edgesim.dnsserver.authority import group_address, scenario_authority, zonefile_authority
    from edgesim.dnsserver.server import DnsServer
    from edgesim.route53.zone import zone_from_text
    from edgesim.sim.clock import WallClock, new_event_loop

    host, port = _host_port(listen, "--listen")
    console = _console()
    loop = new_event_loop()
    cleanup: list[Any] = []
    driver = None
    if source.suffix.lower() in (".yaml", ".yml"):
        from edgesim.scenario.loader import prepare_file
        from edgesim.sim.live import LiveDriver

        run = prepare_file(source)
        try:
            authority = scenario_authority(run)
        except ValueError as exc:
            raise InputError.single(str(exc), file=str(source)) from None
        driver = LiveDriver(run, WallClock(loop, speed))
        driver.start()
        groups = run.groups
    else:
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError.single(f"cannot read the zone file: {exc}", file=str(source)) from None
        try:
            zone = zone_from_text(text, origin or source.stem, filename=str(source))
        except ValueError as exc:
            raise InputError.single(
                str(exc), file=str(source), expected="a BIND zone file (RFC 1035 master format)"
            ) from None
        problems = zone.validate()
        if problems:
            raise InputError(
                [Problem(msg, path=where) for where, msg in problems], file=str(source)
            )
        authority = zonefile_authority([zone])
        groups = []
    server = DnsServer(authority, host, port)
    bound = loop.run_until_complete(server.start())
    console.print(
        f"DNS on {bound[0]}:{bound[1]} (UDP and TCP) for "
        + ", ".join(str(z) for z in authority.zones)
    )
    names = authority.names or [str(authority.zones[0])]
    for i, g in enumerate(groups[:5]):
        console.print(f"  {g.name}: dig @{bound[0]} -p {bound[1]} -b {group_address(i)} {names[0]}")
    if not groups:
        console.print(f"  dig @{bound[0]} -p {bound[1]} {names[0]}")
    if control is not None and driver is not None:
        from edgesim.dnsserver.control import start_control

        chost, cport = _host_port(control, "--control")
        token = os.environ.get("EDGESIM_TOKEN") or secrets.token_urlsafe(16)
        runner, cbound = loop.run_until_complete(start_control(driver, token, chost, cport))
        cleanup.append(runner)
        console.print(f"control API on http://{chost}:{cbound}/v1/state")
        if "EDGESIM_TOKEN" not in os.environ:
            console.print(f"  token (POST /v1/events, Authorization: Bearer …): {token}")
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for runner in cleanup:
            loop.run_until_complete(runner.cleanup())
        loop.run_until_complete(server.stop())
        loop.close()


def _host_port(text: str, option: str) -> tuple[str, int]:
    host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise InputError.single(
            f"cannot read '{text}'", path=option, expected="HOST:PORT, e.g. 127.0.0.1:5353"
        )
    return host.strip("[]"), int(port_text)


# ---- schema --------------------------------------------------------------------------------


@main.command("schema")
@click.argument("what", type=click.Choice(["topology", "scenario"]))
@friendly
def schema(what: str) -> None:
    """Print the JSON Schema of a file format (for editor autocompletion)."""
    from edgesim.scenario.schema import scenario_model
    from edgesim.topology.schema import TopologyFile

    models: dict[str, type[BaseModel]] = {"topology": TopologyFile, "scenario": scenario_model()}
    model = models[what]
    doc = model.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = f"https://edgesim.dev/schema/{what}-1.json"
    click.echo(json.dumps(doc, indent=2, sort_keys=True))


def _register_live_commands() -> None:
    from edgesim.cli_import import import_
    from edgesim.cli_s3ta import s3ta
    from edgesim.cli_sweep import place, sweep
    from edgesim.live.cli_ctl import ctl
    from edgesim.live.cli_edge import edge
    from edgesim.live.cli_ga import ga
    from edgesim.live.cli_origin import origin
    from edgesim.live.cli_serve import serve

    main.add_command(edge)
    main.add_command(ga)
    main.add_command(origin)
    main.add_command(s3ta)
    main.add_command(sweep)
    main.add_command(place)
    main.add_command(import_)
    main.add_command(serve)
    main.add_command(ctl)


_register_live_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
