"""``edgesim dns serve``: a real DNS server for a scenario's Route 53 zones or a zone file."""

from __future__ import annotations

from pathlib import Path

import click

from edgesim.cli.common import console as _console
from edgesim.cli.common import friendly, host_port

# ---- dns ----------------------------------------------------------------------------------


@click.group()
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
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="processes answering on the same port (SO_REUSEPORT)",
)
@click.option(
    "--query-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="append one line per query (name, type, group, policy, rcode, answer) to FILE",
)
@friendly
def dns_serve(
    source: Path,
    listen: str,
    origin: str | None,
    speed: float,
    control: str | None,
    workers: int,
    query_log: Path | None,
) -> None:
    """Answer DNS over UDP and TCP for a SCENARIO's Route 53 zones, or a BIND zone file.

    With a scenario, client group i asks from 127.1.(i // 256).(i % 256) (dig -b) or with ECS
    (+subnet); the timeline plays in wall time (--speed) and health checks run, so answers
    change live; --control adds an HTTP API to apply events now; --workers N answers from N
    processes on one port with one timeline clock (docs/live-dns.md).
    """
    from edgesim.dnsserver.serve import serve

    host, port = host_port(listen, "--listen")
    ctl = host_port(control, "--control") if control is not None else None
    console = _console()
    serve(
        source,
        host,
        port,
        origin=origin,
        speed=speed,
        control=ctl,
        workers=workers,
        query_log=query_log,
        echo=lambda text: console.print(text, markup=False, highlight=False),
    )
