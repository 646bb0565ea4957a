"""The exported JSON Schema accepts every valid scenario and rejects invalid ones as the loader
does, so an editor never flags a file edgesim runs (or passes one it refuses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from edgesim.errors import InputError
from edgesim.scenario.export import FORMATS, export_schema
from edgesim.scenario.loader import load_scenario_text

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SCENARIOS = [*sorted((ROOT / "scenarios").glob("*.yaml")), ROOT / "bench" / "reference.yaml"]


class EditorLoader(yaml.SafeLoader):
    """YAML as editors' language servers read it (YAML 1.2: a timestamp stays a string)."""


EditorLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = export_schema("scenario")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(v: jsonschema.Draft202012Validator, text: str) -> list[str]:
    data = yaml.load(text, Loader=EditorLoader)
    return [f"{list(e.path)}: {e.message}" for e in v.iter_errors(data)]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid(
    path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, path.read_text()) == []


SMOKE = (ROOT / "scenarios" / "smoke.yaml").read_text()


def _replace(old: str, new: str) -> str:
    assert old in SMOKE, old
    return SMOKE.replace(old, new, 1)


BAD = {
    "unknown top-level key": SMOKE + "\nbogus: 1\n",
    "duration without a unit": _replace("duration: ", "duration: 5\nx_duration: "),
    "seed not a number": _replace("seed: ", "seed: many\nx_seed: "),
    "a workload without a name": SMOKE.replace("- name: api", "- nom: api", 1),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_invalid_scenarios_are_refused_by_both(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    text = BAD[name]
    with pytest.raises(InputError):
        load_scenario_text(text, "bad.yaml")
    assert _errors(validator, text), f"the schema accepts what the loader refuses: {name}"


def test_cache_policy_by_name_or_settings(validator: jsonschema.Draft202012Validator) -> None:
    base = (ROOT / "scenarios" / "live-edge.yaml").read_text()
    assert "cache_policy: CachingOptimized" in base
    assert _errors(validator, base) == []
    wrong = base.replace("cache_policy: CachingOptimized", "cache_policy: CachingFast", 1)
    assert _errors(validator, wrong)
    with pytest.raises(InputError):
        load_scenario_text(wrong, "bad.yaml")


@pytest.mark.parametrize("what", FORMATS)
def test_the_shipped_schema_files_are_current(what: Any) -> None:
    shipped = json.loads((ROOT / "edgesim" / "schemas" / f"{what}.schema.json").read_text())
    assert shipped == export_schema(what), (
        f"regenerate: edgesim schema {what} > edgesim/schemas/{what}.schema.json"
    )
