"""What every ``edgesim`` command shares: the error printer, option parsers, the token helper
and the one server runner (event loop, signals, orderly stop).

Only click is imported at module level; rich and the live layer are imported when used, so
importing a command module stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from edgesim.errors import InputError
from edgesim.units import NS_PER_S, parse_duration_ns

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

TOKEN_ENV = "EDGESIM_TOKEN"
"""The environment variable that carries the control API's bearer token."""


@functools.cache
def _err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def err_console() -> Console:
    """The stderr console (progress bars, warnings, errors), made on first use."""
    return _err_console()


def console() -> Console:
    """Stdout console; wide enough for hop tables when output goes to a file or pipe."""
    from rich.console import Console

    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 160)


def fail(problem: InputError | str, status: int = 2) -> NoReturn:
    """Print a one-screen error (``error: …``) and exit, by default with status 2."""
    from rich.markup import escape

    text = problem.render() if isinstance(problem, InputError) else problem
    _err_console().print("[bold red]error:[/] " + escape(text), markup=True, highlight=False)
    sys.exit(status)


def friendly(func: F) -> F:
    """Turn :class:`InputError` into the one-screen message of :func:`fail` (never a
    traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(exc)

    return wrapper  # type: ignore[return-value]


def duration_s(text: str) -> float:
    """A duration option (``250ms``, ``2s``; a bare ``0`` is allowed) in seconds."""
    if text.strip() == "0":
        return 0.0
    return parse_duration_ns(text) / NS_PER_S


def convert(param: str, func: Callable[[str], T], value: str) -> T:
    """Parse an option's value; a ValueError becomes click's usage error (exit 2)."""
    try:
        return func(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from None


def parse_host_port(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8081"`` → ``("127.0.0.1", 8081)``; IPv6 hosts in brackets (``[::1]:53``).

    Raises ValueError on anything else."""
    host, _, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"cannot read {text!r}; expected HOST:PORT, e.g. 127.0.0.1:5353")
    return host, int(port_text)


def host_port(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` for an option; a bad value is click's usage error (exit 2)."""
    return convert(option, parse_host_port, text)


def token(explicit: str | None = None) -> tuple[str, bool]:
    """The control API's bearer token: ``explicit``, else ``$EDGESIM_TOKEN``, else a new random
    one. Returns the token and whether it was generated (then the caller prints it)."""
    given = explicit or os.environ.get(TOKEN_ENV)
    if given:
        return given, False
    return secrets.token_urlsafe(16), True


class Interrupt:
    """Ctrl-C for batch commands (run, check, sweep, place): the first SIGINT asks the work to
    stop (calling the object returns true from then on: pass it as ``should_stop``), so what
    was done is reported and marked incomplete; a second SIGINT exits 130 at once."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def handle(self, _signum: int, _frame: object) -> None:
        if self.requested:
            sys.stderr.write("\ninterrupted again: stopping now\n")
            sys.stderr.flush()
            os._exit(INTERRUPTED_EXIT)
        self.requested = True
        sys.stderr.write("\ninterrupted: stopping (Ctrl-C again to quit at once)\n")
        sys.stderr.flush()


INTERRUPTED_EXIT = 130
"""Exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it)."""


@contextlib.contextmanager
def interruptible() -> Iterator[Interrupt]:
    """Install :class:`Interrupt` as the SIGINT handler for the block (main thread only;
    elsewhere, e.g. under a test runner's thread, it is a flag nobody sets)."""
    stop = Interrupt()
    try:
        old: Any = signal.signal(signal.SIGINT, stop.handle)
    except ValueError:  # not the main thread
        yield stop
        return
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old)


def run_servers(
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    *,
    ready: Callable[[], None] | None = None,
    signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM),
    stop_timeout_s: float | None = None,
) -> None:
    """The one way the live commands run: a fresh event loop (uvloop where available), then
    ``start()``, ``ready()`` (print the banner), wait for SIGINT or SIGTERM, and ``stop()``.

    Everything happens inside one running loop: uvloop only notices signals while its loop
    runs, so a signal sent right after the banner must not fall between two
    ``run_until_complete`` calls. ``stop()`` runs even when ``start()`` failed half-way, so it
    must cope with what did not start. Exceptions from ``start()`` propagate after the stop.
    """
    from edgesim.live.clock import new_event_loop

    loop = new_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> None:
        stopping = asyncio.Event()
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stopping.set)
        try:
            await start()
            if ready is not None:
                ready()
            sys.stdout.flush()
            await stopping.wait()
        finally:
            if stop_timeout_s is None:
                await stop()
            else:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(stop(), stop_timeout_s)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            loop.run_until_complete(main())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
