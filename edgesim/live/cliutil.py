"""Small helpers shared by the live commands' click front ends (edge, ga, origin, serve)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click

from edgesim.errors import InputError
from edgesim.units import NS_PER_S, parse_duration_ns

T = TypeVar("T")


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


def host_port(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 hosts in brackets) for an option."""
    host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise click.BadParameter(f"cannot read {text!r}; expected HOST:PORT", param_hint=option)
    return host.strip("[]"), int(port_text)


def fail(problem: InputError | str) -> None:
    """Print a one-screen error like the main CLI's and exit with status 2."""
    from rich.markup import escape

    from edgesim.cli import err_console

    text = problem.render() if isinstance(problem, InputError) else problem
    err_console.print("[bold red]error:[/] " + escape(text), markup=True, highlight=False)
    sys.exit(2)
