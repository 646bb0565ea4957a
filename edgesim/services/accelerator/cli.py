"""``edgesim ga serve``: the live Global Accelerator proxy; also runs alone as
``python -m edgesim.services.accelerator.cli``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import click

from edgesim.cli.common import convert, duration_s, fail, host_port, run_servers, token
from edgesim.errors import InputError
from edgesim.services.accelerator.live import (
    Backend,
    GaConfig,
    GaProxy,
    GaRouter,
    backends_from_options,
    parse_backend,
    plan_binds,
)


def _raise_fd_limit() -> None:
    with contextlib.suppress(Exception):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@click.group()
def ga() -> None:
    """Live Global Accelerator (TCP and UDP proxy) for a scenario."""


@ga.command("serve")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--backend",
    "backends",
    multiple=True,
    metavar="ENDPOINT[/tcp|/udp]=HOST[:PORT]",
    help="send an endpoint's flows to this server (no port: the listener's port; "
    "repeatable); others get a built-in echo server",
)
@click.option("--no-delay", is_flag=True, help="no emulated delays (throughput benchmarks)")
@click.option("--rtt", default=None, help="same client↔edge round trip for every client (40ms)")
@click.option(
    "--backbone-rtt", default=None, help="same edge↔endpoint round trip for every endpoint"
)
@click.option(
    "--last-mile/--no-last-mile",
    default=True,
    show_default=True,
    help="include the client group's access network in its delay",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.001, max=1e6),
    default=1.0,
    show_default=True,
    help="virtual seconds of the timeline and health checks per wall second",
)
@click.option(
    "--listen-host",
    default=None,
    help="bind every listener on this address instead of the 127.4/127.5 stand-ins",
)
@click.option(
    "--port-offset",
    type=click.IntRange(-65535, 65535),
    default=0,
    show_default=True,
    help="add this to every listener port when binding",
)
@click.option(
    "--only-port",
    "only_ports",
    type=click.IntRange(1, 65535),
    multiple=True,
    help="bind only these listener ports (repeatable)",
)
@click.option(
    "--max-ports",
    type=click.IntRange(1, 4096),
    default=64,
    show_default=True,
    help="ports bound per listener (port ranges beyond are left out, with a note)",
)
@click.option(
    "--max-datagram",
    type=click.IntRange(1, 65507),
    default=1472,
    show_default=True,
    help="largest UDP payload forwarded (bytes)",
)
@click.option("--tcp-idle", default="340s", show_default=True, help="TCP idle timeout")
@click.option("--udp-idle", default="30s", show_default=True, help="UDP idle timeout")
@click.option(
    "--control",
    default=None,
    help="serve the control API on HOST:PORT (token from EDGESIM_TOKEN or printed)",
)
def serve(
    scenario: Path,
    backends: tuple[str, ...],
    no_delay: bool,
    rtt: str | None,
    backbone_rtt: str | None,
    last_mile: bool,
    speed: float,
    listen_host: str | None,
    port_offset: int,
    only_ports: tuple[int, ...],
    max_ports: int,
    max_datagram: int,
    tcp_idle: str,
    udp_idle: str,
    control: str | None,
) -> None:
    """Run a SCENARIO's accelerators as a live TCP and UDP proxy on loopback.

    Accelerator k listens on 127.4.k/256.k%256 and 127.5.k/256.k%256 (stand-ins for its two
    static addresses) on its listeners' ports. A client at 127.1.x.y is client group
    x·256+y (nc -s 127.1.0.0 127.4.0.1 443): it enters at that group's nearest edge location
    and goes to the endpoint the accelerator's rules choose, with the emulated delays.

    Example: edgesim ga serve scenarios/global-api-accelerator.yaml --port-offset 10000
    """
    config = GaConfig(
        delay=not no_delay,
        last_mile=last_mile,
        client_rtt_ms=None if rtt is None else convert("--rtt", duration_s, rtt) * 1000,
        backbone_rtt_ms=None
        if backbone_rtt is None
        else convert("--backbone-rtt", duration_s, backbone_rtt) * 1000,
        listen_host=listen_host,
        port_offset=port_offset,
        only_ports=frozenset(only_ports),
        max_ports=max_ports,
        max_datagram=max_datagram,
        tcp_idle_s=convert("--tcp-idle", duration_s, tcp_idle),
        udp_idle_s=convert("--udp-idle", duration_s, udp_idle),
    )
    if config.tcp_idle_s <= 0 or config.udp_idle_s <= 0:
        raise click.BadParameter("idle timeouts must be positive", param_hint="--tcp-idle")
    parsed = [convert("--backend", parse_backend, b) for b in backends]
    ctl = host_port(control, "--control") if control is not None else None
    try:
        from edgesim.scenario.loader import prepare_file

        run = prepare_file(scenario)
        try:
            router = GaRouter(run, config)
            mapping = backends_from_options(router, parsed)
            plan_binds(router.accelerators(), config)
        except ValueError as exc:
            raise InputError.single(str(exc), file=str(scenario)) from None
    except InputError as exc:
        fail(exc)
        return
    _raise_fd_limit()
    try:
        _run(run, config, mapping, speed, ctl)
    except OSError as exc:
        fail(
            f"cannot listen: {exc.strerror or exc} "
            "(try --listen-host 127.0.0.1 --port-offset 10000)",
            status=1,
        )


def _run(
    run: Any,
    config: GaConfig,
    backends: dict[tuple[str, str], Backend],
    speed: float,
    control: tuple[str, int] | None,
) -> None:
    from edgesim.live.clock import WallClock
    from edgesim.sim.live import LiveDriver

    proxy = GaProxy(run, config, backends=backends)
    cleanup: list[Any] = []

    async def start() -> None:
        await proxy.start()
        driver = LiveDriver(run, WallClock(asyncio.get_running_loop(), speed))
        driver.on_change = proxy.on_change
        driver.start()
        delay = "emulated delays on" if config.delay else "no emulated delay"
        click.echo(f"Global Accelerator proxy, {delay}, timeline ×{speed:g}; Ctrl-C stops")
        for line in proxy.describe():
            click.echo(line)
        for line in proxy.router.describe():
            click.echo("  " + line)
        for note in proxy.notes:
            click.echo("note: " + note)
        if control is not None:
            from edgesim.dnsserver.control import start_control

            secret, generated = token()
            runner, cport = await start_control(driver, secret, control[0], control[1])
            cleanup.append(runner)
            click.echo(f"control API on http://{control[0]}:{cport}/v1/state")
            if generated:
                click.echo(f"  token (POST /v1/events, Authorization: Bearer …): {secret}")

    async def stop() -> None:
        for r in cleanup:
            await r.cleanup()
        await proxy.stop()

    run_servers(start, stop)


if __name__ == "__main__":  # python -m edgesim.services.accelerator.cli serve SCENARIO
    ga(prog_name="python -m edgesim.services.accelerator.cli")
