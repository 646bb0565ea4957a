"""``edgesim schema``: the JSON Schema of a file format."""

from __future__ import annotations

import json

import click

from edgesim.cli.common import friendly


@click.command("schema")
@click.argument("what", type=click.Choice(["topology", "scenario"]))
@friendly
def schema(what: str) -> None:
    """Print the JSON Schema of a file format (for editor autocompletion).

    The same schemas ship inside the package (edgesim/schemas/WHAT.schema.json).
    """
    from edgesim.scenario.export import export_schema

    doc = export_schema("scenario" if what == "scenario" else "topology")
    click.echo(json.dumps(doc, indent=2, sort_keys=True))
