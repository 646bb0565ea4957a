"""Scenario variants: ``--vary KEY=V1,V2`` overrides applied to the parsed YAML document.

A KEY is a dotted path into the scenario document: ``seed``, ``duration``,
``route53.zones[0].records[1].region``, ``endpoints[name=api-use1].site``. Every step must exist
in the base document, except the last mapping key, which may be absent when the schema has
such a field (``dns.overstay_share`` in a scenario without it). Values are YAML scalars (or
flow collections: ``timeline=[]``). Each variant is then checked by the normal pydantic path;
errors name the variant.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edgesim.errors import InputError, Problem
from edgesim.scenario.schema import scenario_model
from edgesim.yamlio import LineIndex, _model_at, safe_load_text, validate

Step = str | int | tuple[str, str]
"""A mapping key, a list index, or a ``[field=value]`` selector of a list item."""

_STEP = re.compile(r"\.?([^.\[\]=]+)|\[(\d+)\]|\[([^\]=]+)=([^\]]*)\]")


def parse_key(key: str) -> list[Step]:
    """``endpoints[name=api].site`` → ``["endpoints", ("name", "api"), "site"]``."""
    steps: list[Step] = []
    pos = 0
    key = key.strip()
    while pos < len(key):
        m = _STEP.match(key, pos)
        if m is None or m.end() == pos or (pos == 0 and key.startswith(".")):
            raise InputError.single(
                f"cannot parse the key '{key}' at '{key[pos:]}'",
                expected="a dotted path such as seed, route53.zones[0].records[1].region "
                "or endpoints[name=api-use1].site",
            )
        name, index, sel_field, sel_value = m.groups()
        if name is not None:
            steps.append(name.strip())
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append((sel_field.strip(), sel_value.strip()))
        pos = m.end()
    if not steps:
        raise InputError.single("empty --vary key", expected="KEY=V1,V2,…")
    return steps


def format_key(steps: Sequence[Step]) -> str:
    out = ""
    for s in steps:
        if isinstance(s, int):
            out += f"[{s}]"
        elif isinstance(s, tuple):
            out += f"[{s[0]}={s[1]}]"
        else:
            out += ("." if out else "") + s
    return out


def _has(node: Any, step: str | int) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)


def _select(node: Any, sel: tuple[str, str], where: list[str | int]) -> int:
    path = format_key(list(where)) or "the document"
    if not isinstance(node, list):
        raise InputError.single(f"[{sel[0]}={sel[1]}]: {path} is not a list")
    values = [str(item.get(sel[0])) for item in node if isinstance(item, dict)]
    for i, item in enumerate(node):
        if isinstance(item, dict) and str(item.get(sel[0])) == sel[1]:
            return i
    raise InputError.single(
        f"no item with {sel[0]}={sel[1]} in {path}",
        expected="one of: " + ", ".join(f"{sel[0]}={v}" for v in values) if values else None,
    )


def check_key(doc: dict[str, Any], steps: list[Step]) -> tuple[str | int, ...]:
    """Check that ``steps`` name something in ``doc`` (or an absent optional field the schema
    has); returns the location with selectors resolved. Raises :class:`InputError`."""
    node: Any = doc
    done: list[str | int] = []
    for i, s in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(s, tuple):
            idx = _select(node, s, done)
            done.append(idx)
            node = node[idx]
            continue
        if isinstance(s, int):
            if not isinstance(node, list):
                raise InputError.single(f"[{s}]: {format_key(done)} is not a list")
            if not 0 <= s < len(node):
                raise InputError.single(
                    f"index {s} is out of range: {format_key(done)} has {len(node)} item(s)"
                )
            done.append(s)
            node = node[s]
            continue
        where = format_key(done) or "the scenario"
        if not isinstance(node, dict):
            raise InputError.single(f"'{s}': {where} is not a mapping")
        if s in node:
            done.append(s)
            node = node[s]
            continue
        # absent: allowed for a field the schema knows (a mapping when more steps follow)
        parent = _model_at(scenario_model(), tuple(done))
        names = [f.alias or n for n, f in parent.model_fields.items()] if parent is not None else []
        rest_ok = all(isinstance(r, str) for r in steps[i + 1 :])
        if (parent is None and last) or (s in names and rest_ok):
            done.append(s)
            node = {}
            continue
        close = difflib.get_close_matches(s, [str(k) for k in node] + names, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close and close[0] != s else ""
        what = "no key" if s not in names else "cannot index into the absent field"
        raise InputError.single(
            f"{what} '{s}' in {where}{hint}",
            expected="one of: " + ", ".join(sorted({str(k) for k in node} | set(names))),
        )
    return tuple(done)


def set_value(doc: dict[str, Any], steps: list[Step], value: Any) -> None:
    """Set ``value`` at ``steps`` in ``doc`` (in place; the path was checked)."""
    node: Any = doc
    for s in steps[:-1]:
        if isinstance(s, tuple):
            node = node[_select(node, s, [])]
        elif isinstance(node, dict) and s not in node:
            node = node.setdefault(s, {})  # an absent optional section (checked)
        else:
            node = node[s]
    last = steps[-1]
    if isinstance(last, tuple):
        node[_select(node, last, [])] = value
    else:
        node[last] = value


def parse_value(text: str) -> Any:
    """A YAML scalar (or flow collection): ``10m`` → "10m", ``3`` → 3, ``[]`` → []."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise InputError.single(f"cannot parse the value '{text}': {exc}") from None


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes: ``[a, b],c`` → two values."""
    out: list[str] = []
    depth = 0
    quote = ""
    cur = ""
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    out.append(cur.strip())
    return out


@dataclass(frozen=True)
class Axis:
    key: str
    steps: list[Step]
    values: list[Any]


def parse_vary(spec: str) -> Axis:
    """``KEY=V1,V2,…`` → an axis (values parsed as YAML)."""
    if "=" not in spec:
        raise InputError.single(f"--vary '{spec}': no '='", expected="KEY=V1,V2,…")
    # the key may hold '=' inside a [field=value] selector: split at the first '=' outside []
    depth = 0
    cut = -1
    for i, ch in enumerate(spec):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "=" and depth == 0:
            cut = i
            break
    if cut <= 0:
        raise InputError.single(f"--vary '{spec}': no key before '='", expected="KEY=V1,V2,…")
    key, raw = spec[:cut].strip(), spec[cut + 1 :]
    values = [parse_value(v) for v in split_values(raw)]
    if not raw.strip():
        raise InputError.single(f"--vary {key}: no values", expected="KEY=V1,V2,…")
    return Axis(key, parse_key(key), values)


@dataclass
class Variant:
    index: int
    overrides: dict[str, Any]
    """Key → value, in the order applied."""
    doc: dict[str, Any] = field(repr=False)

    @property
    def label(self) -> str:
        if not self.overrides:
            return "base"
        return " ".join(f"{k}={_show(v)}" for k, v in self.overrides.items())


def _show(v: Any) -> str:
    if isinstance(v, str):
        return v
    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


def load_variants_file(path: Path) -> list[dict[str, Any]]:
    """A YAML list of override mappings: ``- {seed: 1, duration: 10m}``."""
    try:
        data = safe_load_text(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise InputError.single("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError.single(f"cannot read the variants file: {exc}", file=str(path)) from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data) or not data:
        raise InputError.single(
            "the variants file must be a non-empty YAML list of mappings",
            file=str(path),
            expected="- {seed: 1, endpoints[name=api].site: region:eu-west-1}",
        )
    return [{str(k): v for k, v in d.items()} for d in data]


def expand(
    base: dict[str, Any],
    axes: list[Axis],
    listed: list[dict[str, Any]] | None = None,
    *,
    file: str | None = None,
) -> list[Variant]:
    """Every variant: the listed sets (or one empty set) × the cross product of the axes.

    Every key is checked against ``base`` first and every variant against the schema; all
    problems are raised together as one :class:`InputError` before anything runs.
    """
    problems: list[Problem] = []
    parsed: dict[str, list[Step]] = {}
    keys = [a.key for a in axes] + [k for d in listed or [] for k in d]
    for key in keys:
        if key in parsed:
            continue
        try:
            steps = parse_key(key)
            check_key(base, steps)
            parsed[key] = steps
        except InputError as exc:
            problems.extend(Problem(p.message, path=key, expected=p.expected) for p in exc.problems)
    if problems:
        raise InputError(problems, file=file)
    sets: list[dict[str, Any]] = listed or [{}]
    combos = list(itertools.product(*(a.values for a in axes))) if axes else [()]
    out: list[Variant] = []
    for listed_set in sets:
        for combo in combos:
            overrides = dict(listed_set)
            overrides.update({a.key: v for a, v in zip(axes, combo, strict=True)})
            doc = copy.deepcopy(base)
            for key, value in overrides.items():
                set_value(doc, parsed[key], copy.deepcopy(value))
            out.append(Variant(len(out), overrides, doc))
    check_variants(out, file)
    return out


def check_variants(variants: list[Variant], file: str | None) -> None:
    """Validate each variant's document with the scenario schema (errors name the variant)."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for v in variants:
        try:
            validate(scenario_model(), v.doc, LineIndex(), file)
        except InputError as exc:
            for p in exc.problems:
                msg = f"variant {v.index} ({v.label}): {p.message}"
                if msg not in seen:
                    seen[msg] = ""
                    problems.append(Problem(msg, path=p.path, expected=p.expected))
    if problems:
        raise InputError(problems, file=file)
