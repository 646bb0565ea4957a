"""``edgesim edge serve``: live CloudFront-like edges; also runs alone as
``python -m edgesim.cli.edge``."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from edgesim.cli.common import convert, duration_s, fail, run_servers
from edgesim.errors import InputError
from edgesim.live.edge import (
    DEFAULT_PORT,
    EdgeConfig,
    EdgePlan,
    EdgeServer,
    Limits,
    describe,
    plan_edges,
)
from edgesim.units import parse_size_bytes


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``edge serve`` needs to build the edges (picklable, for ``--workers``)."""

    scenario: str
    port: int = DEFAULT_PORT
    base_port: int | None = None
    distribution: str | None = None
    config: EdgeConfig = field(default_factory=EdgeConfig)
    last_mile: bool = True


def load_plan(opts: ServeOptions) -> EdgePlan:
    """Load and prepare the scenario, then plan the edges; InputError on bad input."""
    from edgesim.scenario.loader import prepare_file

    path = Path(opts.scenario)
    run = prepare_file(path)
    try:
        return plan_edges(run, port=opts.port, base_port=opts.base_port, last_mile=opts.last_mile)
    except ValueError as exc:
        raise InputError.single(str(exc), file=str(path)) from None


def parse_origin_option(text: str) -> tuple[str | None, str, str]:
    """``NAME=URL`` or ``DIST/NAME=URL`` → (distribution or None, origin, url)."""
    name, sep, url = text.partition("=")
    if not sep or not name or not url.startswith(("http://", "https://")):
        raise ValueError(f"cannot read {text!r}; expected NAME=http://HOST:PORT")
    dist, slash, origin = name.rpartition("/")
    return (dist if slash else None), origin, url


@click.group()
def edge() -> None:
    """Live CloudFront edge locations (HTTP) for a scenario."""


@edge.command("serve")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", default=DEFAULT_PORT, show_default=True, help="port on each 127.3.x.y")
@click.option(
    "--base-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="give PoP i the port BASE+i on 127.0.0.1 instead of its own 127.3.x.y address "
    "(0: free ports)",
)
@click.option(
    "--distribution", default=None, help="distribution for requests whose Host names none"
)
@click.option(
    "--origin",
    "origins",
    multiple=True,
    metavar="NAME=URL",
    help="forward origin NAME (or DIST/NAME) to this URL (repeatable)",
)
@click.option("--no-delay", is_flag=True, help="no emulated delays (benchmarks)")
@click.option("--handshake", is_flag=True, help="charge one more RTT per new connection")
@click.option("--rtt", default=None, help="same client↔PoP RTT for every client (80ms)")
@click.option(
    "--last-mile/--no-last-mile",
    default=True,
    show_default=True,
    help="include the client group's access network in its RTT",
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--header-timeout", default="10s", show_default=True, help="slow request heads")
@click.option("--idle-timeout", default="60s", show_default=True, help="idle keep-alive")
@click.option("--max-body", default="10MiB", show_default=True, help="request body limit")
@click.option(
    "--origin-body-size", default="10KB", show_default=True, help="local origins: object size"
)
@click.option(
    "--origin-header",
    "origin_headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="local origins: add to every response (repeatable)",
)
@click.option("--seed", type=int, default=None, help="X-Amz-Cf-Id seed (default: scenario's)")
def serve(
    scenario: Path,
    port: int,
    base_port: int | None,
    distribution: str | None,
    origins: tuple[str, ...],
    no_delay: bool,
    handshake: bool,
    rtt: str | None,
    last_mile: bool,
    workers: int,
    header_timeout: str,
    idle_timeout: str,
    max_body: str,
    origin_body_size: str,
    origin_headers: tuple[str, ...],
    seed: int | None,
) -> None:
    """Serve a SCENARIO's CloudFront distributions from live edge locations.

    One listener per edge location the client groups are sent to: 127.3.x.y:PORT (the
    address `edgesim dns serve` answers with) or 127.0.0.1:BASE+i with --base-port. The
    client group is the source address 127.1.x.y (curl --interface 127.1.0.0) or the
    X-Edgesim-Client header; its round trip to the PoP is applied to every answer.

    Example: edgesim edge serve scenarios/live-edge.yaml --base-port 8080
    """
    from edgesim.live.origin import OriginConfig, parse_header

    if not 0 < port < 65536:
        raise click.BadParameter("must be 1-65535", param_hint="--port")
    config = EdgeConfig(
        delay=not no_delay,
        handshake=handshake,
        fixed_rtt_ms=None if rtt is None else convert("--rtt", duration_s, rtt) * 1000,
        limits=Limits(max_body=convert("--max-body", parse_size_bytes, max_body)),
        header_timeout_s=convert("--header-timeout", duration_s, header_timeout),
        idle_timeout_s=convert("--idle-timeout", duration_s, idle_timeout),
        default_distribution=distribution,
        reuse_port=workers > 1,
        seed=seed or 0,
    )
    overrides = [convert("--origin", parse_origin_option, o) for o in origins]
    local = OriginConfig(
        host="127.0.0.1",
        port=0,
        body_size=convert("--origin-body-size", parse_size_bytes, origin_body_size),
        headers=tuple(convert("--origin-header", parse_header, h) for h in origin_headers),
    )
    opts = ServeOptions(str(scenario), port, base_port, distribution, config, last_mile)
    try:
        plan = load_plan(opts)
        if distribution is not None and distribution not in {d.name for d in plan.dists}:
            raise InputError.single(
                f"no distribution '{distribution}'",
                path="--distribution",
                expected=", ".join(d.name for d in plan.dists),
            )
        urls = _origin_urls(plan, overrides)
    except InputError as exc:
        fail(exc)
        return
    try:
        _run(plan, opts, urls, local, workers)
    except OSError as exc:
        fail(f"cannot listen: {exc.strerror or exc} (try --base-port 8080 on 127.0.0.1)", status=1)


def _origin_urls(
    plan: EdgePlan, overrides: list[tuple[str | None, str, str]]
) -> dict[tuple[str, str], str]:
    urls: dict[tuple[str, str], str] = {}
    for dist, name, url in overrides:
        hits = [d for d in plan.dists if (dist is None or d.name == dist) and name in d.origins]
        if not hits:
            raise InputError.single(
                f"no origin '{name}'" + (f" in distribution '{dist}'" if dist else ""),
                path="--origin",
                expected=", ".join(f"{d.name}/{o}" for d in plan.dists for o in d.origins),
            )
        for d in hits:
            urls[(d.name, name)] = url
    for d in plan.dists:
        for o in d.origins.values():
            if o.url is not None:
                urls.setdefault((d.name, o.name), o.url)
    return urls


def _run(
    plan: EdgePlan,
    opts: ServeOptions,
    urls: dict[tuple[str, str], str],
    local: Any,
    workers: int,
) -> None:
    from edgesim.live.origin import start_origin

    runners: list[Any] = []
    servers: list[EdgeServer] = []
    procs: list[Any] = []

    async def start() -> None:
        for d in plan.dists:
            for o in d.origins.values():
                if (d.name, o.name) in urls:
                    continue
                runner, host, port = await start_origin(local)
                runners.append(runner)
                urls[(d.name, o.name)] = f"http://{host}:{port}"
                click.echo(f"local origin {d.name}/{o.name} on http://{host}:{port}/")
        if workers == 1:
            servers.append(EdgeServer(plan, opts.config, origin_urls=urls))
            await servers[0].start()
        else:
            ctx = multiprocessing.get_context("spawn")
            ready = ctx.Queue()
            for _ in range(workers):
                p = ctx.Process(target=_worker, args=(opts, urls, ready), daemon=True)
                p.start()
                procs.append(p)
            loop = asyncio.get_running_loop()
            for _ in range(workers):
                msg = await loop.run_in_executor(None, functools.partial(ready.get, timeout=120))
                if msg != "ok":
                    fail(str(msg), status=1)
        delay = "no emulated delay" if not opts.config.delay else "emulated delays on"
        click.echo(f"{len(plan.pops)} edge location(s), {workers} worker(s), {delay}; Ctrl-C stops")
        for line in describe(plan):
            click.echo("  " + line)
        for d in plan.dists:
            click.echo(f"  distribution {d.name}: Host {', '.join(d.hosts)}")

    async def stop() -> None:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)
        for server in servers:
            await server.stop()
        for r in runners:
            await r.cleanup()

    run_servers(start, stop)


def _worker(opts: ServeOptions, urls: dict[tuple[str, str], str], ready: Any) -> None:
    """One ``--workers`` process: its own loop, caches and listeners (SO_REUSEPORT); the
    parent stops it with SIGTERM (Ctrl-C reaches the parent only)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    servers: list[EdgeServer] = []

    async def start() -> None:
        try:
            plan = load_plan(opts)
            servers.append(
                EdgeServer(plan, replace(opts.config, reuse_port=True), origin_urls=urls)
            )
            await servers[0].start()
        except BaseException as exc:  # report, never hang the parent
            ready.put(f"worker {os.getpid()}: {exc}")
            raise
        ready.put("ok")

    async def stop() -> None:
        for server in servers:
            await server.stop()

    run_servers(start, stop, signals=(signal.SIGTERM,))


if __name__ == "__main__":  # python -m edgesim.cli.edge serve SCENARIO
    edge(prog_name="python -m edgesim.cli.edge")
