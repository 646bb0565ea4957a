"""The ``edgesim`` command line: the top layer, a thin shell over the core, report and live
layers (docs/architecture.md).

Each command lives in its own module of this package and is imported only when it runs (or
when ``--help`` lists it), so ``edgesim --version`` imports click and nothing heavy. Adding a
command: write ``edgesim/cli/NAME.py`` and add one line to :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from edgesim import __version__

COMMANDS: dict[str, str] = {
    "calibrate": "edgesim.cli.calibrate:calibrate",
    "check": "edgesim.cli.run:check_cmd",
    "ctl": "edgesim.cli.ctl:ctl",
    "dns": "edgesim.cli.dns:dns",
    "edge": "edgesim.cli.edge:edge",
    "ga": "edgesim.services.accelerator.cli:ga",
    "import": "edgesim.cli.imports:import_",
    "origin": "edgesim.cli.origin:origin",
    "place": "edgesim.cli.sweep:place",
    "run": "edgesim.cli.run:run_cmd",
    "s3ta": "edgesim.services.s3.cli:s3ta",
    "schema": "edgesim.cli.schema:schema",
    "serve": "edgesim.cli.serve:serve",
    "sign": "edgesim.cli.sign:sign",
    "sweep": "edgesim.cli.sweep:sweep",
    "topo": "edgesim.cli.topo:topo",
}
"""Command name → ``module:attribute`` of its click command, imported on first use."""


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when they are first looked up."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):  # pragma: no cover - a wiring bug
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # Ctrl-C outside a command's own handling (loading, importing) is exit 130 too, with
        # a line instead of click's "Aborted!" and status 1.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="edgesim")
def main() -> None:
    """edgesim: what latency will your users see, and what happens when things fail?"""


__all__ = ["COMMANDS", "LazyGroup", "main"]
