"""The JSON Schemas of edgesim's file formats, as editors use them.

``edgesim schema scenario`` prints the scenario schema; the same documents ship inside the
package (``edgesim/schemas/*.schema.json``) so an editor can point at them without running
edgesim, and every shipped scenario names its schema on its first line (``#
yaml-language-server: $schema=…``). A test checks the shipped files against this function.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Format = Literal["scenario", "topology"]
FORMATS: tuple[Format, ...] = ("scenario", "topology")


def export_schema(what: Format) -> dict[str, Any]:
    from edgesim.scenario.schema import scenario_model
    from edgesim.topology.schema import TopologyFile

    models: dict[str, type[BaseModel]] = {"topology": TopologyFile, "scenario": scenario_model()}
    doc = models[what].model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = f"https://edgesim.dev/schema/{what}-1.json"
    return doc
