"""``edgesim schema``: the JSON Schema of a file format."""

from __future__ import annotations

import json

import click
from pydantic import BaseModel

from edgesim.cli.common import friendly

# ---- schema --------------------------------------------------------------------------------


@click.command("schema")
@click.argument("what", type=click.Choice(["topology", "scenario"]))
@friendly
def schema(what: str) -> None:
    """Print the JSON Schema of a file format (for editor autocompletion)."""
    from edgesim.scenario.schema import scenario_model
    from edgesim.topology.schema import TopologyFile

    models: dict[str, type[BaseModel]] = {"topology": TopologyFile, "scenario": scenario_model()}
    model = models[what]
    doc = model.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = f"https://edgesim.dev/schema/{what}-1.json"
    click.echo(json.dumps(doc, indent=2, sort_keys=True))
