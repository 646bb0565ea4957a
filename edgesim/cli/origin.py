"""``edgesim origin serve``: a live HTTP origin; also runs alone as
``python -m edgesim.cli.origin``."""

from __future__ import annotations

from typing import Any, TypeVar

import click

from edgesim.cli.common import convert, duration_s, fail, parse_host_port, run_servers
from edgesim.live.origin import OriginConfig, parse_header, start_origin
from edgesim.units import parse_fraction, parse_size_bytes

T = TypeVar("T")


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8081"`` → ``("127.0.0.1", 8081)``; ``[::1]:8081`` for IPv6."""
    return parse_host_port(text)


@click.group()
def origin() -> None:
    """A live HTTP origin (EC2/ALB/S3-like) for the live edges."""


@origin.command("serve")
@click.option("--listen", default="127.0.0.1:8081", show_default=True, help="HOST:PORT")
@click.option(
    "--body-size", default="10KB", show_default=True, help="bytes per object (10KB, 1MiB, 512)"
)
@click.option(
    "--max-body-size", default="64MiB", show_default=True, help="cap for ?size=N per request"
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="add to every response, e.g. 'Cache-Control: max-age=60' (repeatable)",
)
@click.option("--latency", default="0ms", show_default=True, help="fixed delay per response")
@click.option("--jitter", default="0ms", show_default=True, help="extra delay, uniform [0, J]")
@click.option(
    "--error-rate", default="0", show_default=True, help="share answered 503 (0.01 or 1%)"
)
@click.option("--seed", default=0, show_default=True, type=int, help="for errors and jitter")
@click.option(
    "--status-paths/--no-status-paths",
    default=True,
    show_default=True,
    help="answer /status/NNN with status NNN",
)
def serve(
    listen: str,
    body_size: str,
    max_body_size: str,
    headers: tuple[str, ...],
    latency: str,
    jitter: str,
    error_rate: str,
    seed: int,
    status_paths: bool,
) -> None:
    """Serve generated bodies (deterministic per path) with ETag, Last-Modified, Range and
    conditional GET; GET /_edgesim/stats counts the requests that arrived, /healthz is 200.

    Example: edgesim origin serve --header 'Cache-Control: max-age=60' --latency 20ms
    """
    host, port = convert("--listen", parse_listen, listen)
    try:
        config = OriginConfig(
            host=host,
            port=port,
            body_size=convert("--body-size", parse_size_bytes, body_size),
            max_body_size=convert("--max-body-size", parse_size_bytes, max_body_size),
            headers=tuple(convert("--header", parse_header, h) for h in headers),
            latency_s=convert("--latency", duration_s, latency),
            jitter_s=convert("--jitter", duration_s, jitter),
            error_rate=convert("--error-rate", parse_fraction, error_rate),
            seed=seed,
            status_paths=status_paths,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    runners: list[Any] = []

    async def start() -> None:
        runner, bound_host, bound_port = await start_origin(config)
        runners.append(runner)
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        click.echo(
            f"origin on http://{shown}:{bound_port}/ ({config.body_size} bytes per object; "
            f"/_edgesim/stats, /healthz); Ctrl-C stops"
        )

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()

    try:
        run_servers(start, stop)
    except OSError as exc:
        fail(f"cannot listen on {listen}: {exc.strerror or exc}", status=1)


if __name__ == "__main__":  # python -m edgesim.cli.origin [serve options]
    serve(prog_name="python -m edgesim.cli.origin")
