"""``edgesim dns serve``: a real DNS server for a scenario's Route 53 zones or a zone file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from edgesim.cli.common import console as _console
from edgesim.cli.common import friendly, host_port, run_servers, token
from edgesim.errors import InputError, Problem

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
@friendly
def dns_serve(
    source: Path, listen: str, origin: str | None, speed: float, control: str | None
) -> None:
    """Answer DNS over UDP and TCP for a SCENARIO's Route 53 zones, or a BIND zone file.

    With a scenario, client group i asks from 127.1.(i // 256).(i % 256) (dig -b) or with ECS
    (+subnet); the timeline plays in wall time (--speed) and health checks run, so answers
    change live; --control adds an HTTP API to apply events now.
    """
    from edgesim.dnsserver.authority import scenario_authority, zonefile_authority
    from edgesim.dnsserver.server import DnsServer
    from edgesim.live.addresses import group_address
    from edgesim.route53.zone import zone_from_text

    host, port = host_port(listen, "--listen")
    ctl = host_port(control, "--control") if control is not None else None
    console = _console()
    driver: Any = None
    run: Any = None
    if source.suffix.lower() in (".yaml", ".yml"):
        from edgesim.scenario.loader import prepare_file

        run = prepare_file(source)
        try:
            authority = scenario_authority(run)
        except ValueError as exc:
            raise InputError.single(str(exc), file=str(source)) from None
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
    cleanup: list[Any] = []

    async def start() -> None:
        nonlocal driver
        bound = await server.start()
        if run is not None:
            from edgesim.live.clock import WallClock
            from edgesim.sim.live import LiveDriver

            driver = LiveDriver(run, WallClock(asyncio.get_running_loop(), speed))
            driver.start()
        console.print(
            f"DNS on {bound[0]}:{bound[1]} (UDP and TCP) for "
            + ", ".join(str(z) for z in authority.zones)
        )
        names = authority.names or [str(authority.zones[0])]
        for i, g in enumerate(groups[:5]):
            console.print(
                f"  {g.name}: dig @{bound[0]} -p {bound[1]} -b {group_address(i)} {names[0]}"
            )
        if not groups:
            console.print(f"  dig @{bound[0]} -p {bound[1]} {names[0]}")
        if ctl is not None and driver is not None:
            from edgesim.dnsserver.control import start_control

            secret, generated = token()
            runner, cbound = await start_control(driver, secret, ctl[0], ctl[1])
            cleanup.append(runner)
            console.print(f"control API on http://{ctl[0]}:{cbound}/v1/state")
            if generated:
                console.print(f"  token (POST /v1/events, Authorization: Bearer …): {secret}")

    async def stop() -> None:
        for runner in cleanup:
            await runner.cleanup()
        await server.stop()

    run_servers(start, stop)
