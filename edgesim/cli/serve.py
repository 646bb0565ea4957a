"""``edgesim serve SCENARIO``: the whole live stack in one process (docs/live-stack.md).

Listed in :data:`edgesim.cli.COMMANDS`; also runs alone as
``python -m edgesim.cli.serve SCENARIO``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import click

from edgesim.cli.common import TOKEN_ENV, fail, host_port, run_servers
from edgesim.errors import InputError
from edgesim.live.control import try_line
from edgesim.live.stack import COMPONENTS, Stack, StackConfig, StackError

STOP_TIMEOUT_S = 1.5
MAX_EDGE_LINES = 8


@click.command("serve")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--speed",
    type=click.FloatRange(min=0.001, max=1e6),
    default=1.0,
    show_default=True,
    help="virtual seconds of the timeline per wall second",
)
@click.option("--dns-port", type=click.IntRange(0, 65535), default=5353, show_default=True)
@click.option(
    "--edge-port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="port on every PoP (127.3.x.y) and endpoint (127.2.x.y) address; 0: a free one",
)
@click.option(
    "--control", default="127.0.0.1:8053", show_default=True, help="control API + dashboard"
)
@click.option("--token", default=None, help="bearer token (default: EDGESIM_TOKEN or random)")
@click.option(
    "--listen-host",
    default="127.0.0.1",
    show_default=True,
    help="address of the DNS server (and of everything, when not loopback)",
)
@click.option("--allow-public", is_flag=True, help="allow a non-loopback --listen-host")
@click.option("--http-proxy", default=None, metavar="HOST:PORT", help="forward proxy for browsers")
@click.option("--no-delay", is_flag=True, help="no emulated delays (benchmarks)")
@click.option(
    "--only",
    default=None,
    metavar="LIST",
    help=f"start only these ({','.join(COMPONENTS)}); the control API always runs",
)
@click.option(
    "--traffic",
    "traffic_rps",
    type=click.FloatRange(min=0.1, max=10_000),
    default=None,
    metavar="RATE",
    help="built-in clients from every group send RATE requests/s in all (DNS, then HTTP)",
)
@click.option(
    "--ga-port-offset",
    type=click.IntRange(0, 60000),
    default=0,
    show_default=True,
    help="added to accelerator listener ports (443 needs root: 10000 → 10443)",
)
def serve(
    scenario: Path,
    speed: float,
    dns_port: int,
    edge_port: int,
    control: str,
    token: str | None,
    listen_host: str,
    allow_public: bool,
    http_proxy: str | None,
    no_delay: bool,
    only: str | None,
    ga_port_offset: int,
    traffic_rps: float | None,
) -> None:
    """Serve a SCENARIO live: DNS, CloudFront edges, endpoints, origins, accelerators, a
    control API and a dashboard, in one process, on loopback.

    Client group i is the source address 127.1.(i // 256).(i % 256): `dig -b` and
    `curl --interface` make you a user of that group. Ctrl-C or SIGTERM stops everything.

    Example: edgesim serve scenarios/quickstart.yaml --speed 10
    """
    t0 = time.perf_counter()
    chost, cport = host_port(control, "--control")
    proxy = host_port(http_proxy, "--http-proxy") if http_proxy else None
    picked = frozenset(COMPONENTS)
    if only is not None:
        picked = frozenset(x.strip() for x in only.split(",") if x.strip())
        unknown = sorted(picked - set(COMPONENTS))
        if unknown:
            raise click.BadParameter(
                f"unknown component {unknown[0]!r}; choose from {', '.join(COMPONENTS)}",
                param_hint="--only",
            )
    config = StackConfig(
        scenario=scenario,
        listen_host=listen_host,
        dns_port=dns_port,
        edge_port=edge_port,
        control_host=chost,
        control_port=cport,
        token=token or os.environ.get(TOKEN_ENV) or None,
        speed=speed,
        delay=not no_delay,
        http_proxy=proxy,
        only=picked,
        ga_port_offset=ga_port_offset,
        traffic_rps=traffic_rps,
    )
    public = [
        (opt, h)
        for opt, h in (("--listen-host", listen_host), ("--control", chost))
        + ((("--http-proxy", proxy[0]),) if proxy else ())
        if not _loopback(h)
    ]
    if public and not allow_public:
        opt, h = public[0]
        fail(
            f"{opt} {h} is not a loopback address: the control API can fail regions and the "
            "servers answer anyone who can reach them. Add --allow-public if you mean it."
        )
    for opt, h in public:
        click.echo(
            f"warning: {opt} {h} is reachable from other machines; keep the token secret",
            err=True,
        )
    try:
        stack = Stack.load(config)
    except InputError as exc:
        fail(exc.render())
        return
    _run(stack, t0)


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _run(stack: Stack, t0: float) -> None:
    """Start, print the table, wait for SIGINT/SIGTERM, stop (at most STOP_TIMEOUT_S)."""
    failure: list[str] = []
    started: list[bool] = []

    async def start() -> None:
        try:
            await stack.start()
        except StackError as exc:
            failure.append(str(exc))
            raise
        started.append(True)
        for line in describe(stack, time.perf_counter() - t0):
            click.echo(line)

    async def stop() -> None:
        if started:
            click.echo("stopping…")
            await stack.stop()

    with contextlib.suppress(StackError):
        run_servers(start, stop, stop_timeout_s=STOP_TIMEOUT_S)
    if failure:
        fail(failure[0])


def describe(stack: Stack, ready_s: float | None = None) -> list[str]:
    """The start-up table and ready-to-paste commands."""
    cfg = stack.config
    lines: list[str] = []
    when = f" in {ready_s:.2f} s" if ready_s is not None else ""
    delay = "emulated delays" if cfg.delay else "no emulated delay"
    lines.append(
        f"edgesim serve: {stack.run.scenario.name} — timeline ×{cfg.speed:g}, {delay}, "
        f"ready{when}; Ctrl-C stops"
    )
    width = max((len(x.name) for x in stack.listeners), default=10)
    edges = [x for x in stack.listeners if x.component == "edge"]
    for x in stack.listeners:
        if x.component == "edge" and len(edges) > MAX_EDGE_LINES:
            if x is edges[MAX_EDGE_LINES]:
                lines.append(
                    f"  {'edge':<11} … {len(edges) - MAX_EDGE_LINES} more PoPs (GET /v1/topology)"
                )
            if edges.index(x) >= MAX_EDGE_LINES:
                continue
        if x.component == "accelerator":
            lines.append(f"  {'accelerator':<11} {x.note}")
            continue
        lines.append(f"  {x.component:<11} {x.name:<{width}} {x.url:<32} {x.note}")
    for note in stack.notes:
        lines.append(f"note: {note}")
    lines.append("")
    lines.append("Try (client group i asks from 127.1.(i//256).(i%256)):")
    hosts = stack.authority.names if stack.authority is not None else []
    dns = stack.dns_bound
    for gi, g in enumerate(stack.groups[:2]):
        src = f"127.1.{gi // 256}.{gi % 256}"
        for h in hosts[:2]:
            if dns is not None:
                lines.append(f"  # {g}\n  dig @{dns[0]} -p {dns[1]} -b {src} +short {h}")
            if (line := try_line(stack, h, gi)) is not None:
                lines.append(f"  {line}")
    if stack.proxy_bound is not None and hosts:
        ph, pp = stack.proxy_bound
        g = stack.groups[min(1, len(stack.groups) - 1)]
        lines.append(f"  curl -si -x http://{g}:x@{ph}:{pp} http://{hosts[0]}/index.html")
    if stack.control_bound is not None:
        ch, cp = stack.control_bound
        url = f"http://{ch}:{cp}"
        lines.append(f"  curl -s {url}/v1/state")
        lines.append(
            f"  curl -s -H 'Authorization: Bearer {stack.token}' -d "
            f'\'{{"target": "region:us-east-1"}}\' {url}/v1/fail'
        )
        lines.append(f"  EDGESIM_URL={url} EDGESIM_TOKEN={stack.token} edgesim ctl watch")
        lines.append(f"dashboard: {url}/#token={stack.token}")
    return lines


if __name__ == "__main__":  # python -m edgesim.cli.serve SCENARIO
    serve(prog_name="python -m edgesim.cli.serve")
