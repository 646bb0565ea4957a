"""Run Command documents whose steps are edgesim actions (I/O-free).

A document has the shape of an SSM Command document (schemaVersion 2.2): ``parameters`` (each
with a ``type`` and an optional ``default``), and ``mainSteps``, each with an ``action``, a
``name`` and ``inputs`` in which ``{{ parameter }}`` is replaced by the parameter's value. The
actions are edgesim's, run on each target instance in turn:

========================== ===================================================================
``edgesim:stopService``    the instance leaves service (takes ``duration``, default 0s)
``edgesim:startService``   it returns to service
``edgesim:restart``        out of service for ``warmup`` (default 60s), then back
``aws:sleep``              wait ``duration``
``edgesim:failEndpoint``   the instance's endpoint fails (as the timeline's ``fail``)
``edgesim:recoverEndpoint`` … recovers
``edgesim:degradeEndpoint`` the endpoint adds ``extra_latency`` and ``error_rate`` to requests
``edgesim:restoreEndpoint`` … removes them
``edgesim:setWeight``      Route 53's ``set_weight`` with ``record``, ``set``, ``weight``
``edgesim:invalidate``     CloudFront's ``invalidate`` with ``distribution``, ``paths``
========================== ===================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edgesim.units import parse_duration_ns, parse_fraction

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_PARAM = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")

#: action → (inputs it takes, inputs it needs)
ACTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "edgesim:stopService": (frozenset({"duration"}), frozenset()),
    "edgesim:startService": (frozenset({"duration"}), frozenset()),
    "edgesim:restart": (frozenset({"warmup"}), frozenset()),
    "aws:sleep": (frozenset({"duration"}), frozenset({"duration"})),
    "edgesim:failEndpoint": (frozenset(), frozenset()),
    "edgesim:recoverEndpoint": (frozenset(), frozenset()),
    "edgesim:degradeEndpoint": (
        frozenset({"extra_latency", "error_rate"}),
        frozenset(),
    ),
    "edgesim:restoreEndpoint": (frozenset(), frozenset()),
    "edgesim:setWeight": (
        frozenset({"record", "set", "weight"}),
        frozenset({"record", "set", "weight"}),
    ),
    "edgesim:invalidate": (
        frozenset({"distribution", "paths"}),
        frozenset({"distribution", "paths"}),
    ),
}
#: actions that act on another service's timeline action
FOREIGN = {"edgesim:setWeight": "set_weight", "edgesim:invalidate": "invalidate"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ParameterSpec(_Strict):
    type: Literal["String", "Integer", "Boolean", "StringList"] = "String"
    description: str = ""
    default: Any = None
    allowedValues: list[Any] | None = None  # noqa: N815 (SSM's spelling)


class StepSpec(_Strict):
    action: str
    name: str = Field(pattern=NAME)
    inputs: dict[str, Any] = Field(default_factory=dict)


class DocumentContent(_Strict):
    """An SSM Command document (``schemaVersion: "2.2"``)."""

    schemaVersion: str = Field(default="2.2", pattern=r"^2\.2$")  # noqa: N815
    description: str = ""
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    mainSteps: list[StepSpec] = Field(min_length=1)  # noqa: N815


class DocumentSpec(_Strict):
    name: str = Field(pattern=NAME)
    content: DocumentContent


@dataclass(frozen=True)
class Step:
    """A step with its parameters filled in."""

    action: str
    name: str
    inputs: dict[str, Any]

    @property
    def duration_ns(self) -> int:
        if self.action == "edgesim:restart":
            return parse_duration_ns(str(self.inputs.get("warmup", "60s")))
        if "duration" in self.inputs:
            return parse_duration_ns(str(self.inputs["duration"]))
        return 0


def check_document(doc: DocumentContent) -> list[tuple[str, str]]:
    """(field path under the document's content, problem) for every step that edgesim cannot
    run: unknown actions, unknown or missing inputs, parameters the document does not define."""
    out: list[tuple[str, str]] = []
    names: set[str] = set()
    for j, step in enumerate(doc.mainSteps):
        where = f"mainSteps[{j}]"
        if step.name in names:
            out.append((f"{where}.name", f"two steps are named '{step.name}'"))
        names.add(step.name)
        spec = ACTIONS.get(step.action)
        if spec is None:
            import difflib

            close = difflib.get_close_matches(step.action, list(ACTIONS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.append(
                (
                    f"{where}.action",
                    f"unknown action '{step.action}'{hint}; expected one of: " + ", ".join(ACTIONS),
                )
            )
            continue
        takes, needs = spec
        for key in sorted(set(step.inputs) - takes):
            out.append(
                (
                    f"{where}.inputs.{key}",
                    f"{step.action} takes no input '{key}'; it takes: "
                    + (", ".join(sorted(takes)) or "none"),
                )
            )
        for key in sorted(needs - set(step.inputs)):
            out.append((f"{where}.inputs", f"{step.action} needs the input '{key}'"))
        for key, value in step.inputs.items():
            for ref in _PARAM.findall(str(value)):
                if ref not in doc.parameters:
                    out.append(
                        (
                            f"{where}.inputs.{key}",
                            f"'{{{{ {ref} }}}}' is not a parameter of the document; it defines: "
                            + (", ".join(sorted(doc.parameters)) or "none"),
                        )
                    )
    return out


def _fill(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _PARAM.fullmatch(value.strip())
        if whole:
            return params[whole.group(1)]
        return _PARAM.sub(lambda m: str(params[m.group(1)]), value)
    if isinstance(value, list):
        return [_fill(v, params) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, params) for k, v in value.items()}
    return value


def resolve(doc: DocumentContent, given: dict[str, Any]) -> list[Step]:
    """The steps with ``given`` parameters (and defaults) filled in; raises ValueError for an
    unknown or missing parameter, a value outside ``allowedValues`` or an input that does not
    read as what its action needs."""
    unknown = sorted(set(given) - set(doc.parameters))
    if unknown:
        raise ValueError(
            f"the document has no parameter '{unknown[0]}'; it defines: "
            + (", ".join(sorted(doc.parameters)) or "none")
        )
    params: dict[str, Any] = {}
    for name, p in doc.parameters.items():
        if name in given:
            value = given[name]
        elif p.default is not None:
            value = p.default
        else:
            raise ValueError(f"the document's parameter '{name}' has no default: give it a value")
        if p.allowedValues is not None and value not in p.allowedValues:
            raise ValueError(f"parameter '{name}': {value!r} is not one of {p.allowedValues!r}")
        params[name] = value
    steps = [Step(s.action, s.name, _fill(s.inputs, params)) for s in doc.mainSteps]
    for s in steps:
        try:
            s.duration_ns  # noqa: B018 (reads the durations)
            if "extra_latency" in s.inputs:
                parse_duration_ns(str(s.inputs["extra_latency"]))
            if "error_rate" in s.inputs:
                parse_fraction(s.inputs["error_rate"])
        except ValueError as exc:
            raise ValueError(f"step '{s.name}': {exc}") from None
    return steps


def foreign_payload(step: Step) -> tuple[str, dict[str, Any]]:
    """The other service's timeline action and payload a setWeight/invalidate step stands for."""
    action = FOREIGN[step.action]
    return action, dict(step.inputs)
