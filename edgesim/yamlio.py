"""YAML loading that remembers where every value came from, and pydantic errors mapped to lines.

Validation errors from pydantic carry a location tuple such as ``("regions", 3, "code")``; the
loader records the line and column of every mapping key and sequence item so that the message
can name ``file:line:column`` and the field path ``regions[3].code``.

Every loader here bounds the document *as expanded*: YAML aliases (``*name``) are allowed,
but each one counts as a full copy of the node it refers to, so a few hundred bytes of
nested anchors (the "billion laughs") cannot grow into gigabytes. :func:`check_limits` walks
the parser's events once, before anything is built, and refuses a document whose expansion
would exceed :data:`MAX_NODES` nodes or :data:`MAX_DEPTH` levels, or whose alias refers to
a node that contains it, naming the line of the alias that crossed the limit.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import pydantic
import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from edgesim.errors import InputError, Problem

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=pydantic.BaseModel)

MAX_NODES: Final = 1_000_000
"""Nodes (scalars, mappings, sequences) a document may hold once its aliases are expanded."""
MAX_DEPTH: Final = 100
"""Nesting levels a document may have, aliases expanded."""
_ANCHOR = re.compile(r"(?:^|[\s\[\]{},])&[^\s\[\]{},]", re.MULTILINE)
"""Something that may be an anchor (``&name`` where a node can start); when nothing in the
text matches, the text has no aliases either and only its nesting depth needs a bound."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class LineIndex:
    """Maps a location tuple to a (line, column) pair, both 1-based."""

    def __init__(self) -> None:
        self._pos: dict[Loc, tuple[int, int]] = {}

    def add(self, loc: Loc, line0: int, col0: int) -> None:
        self._pos.setdefault(loc, (line0 + 1, col0 + 1))

    def find(self, loc: Loc) -> tuple[int | None, int | None]:
        """Position of ``loc``, or of its nearest recorded ancestor."""
        probe = tuple(loc)
        while True:
            if probe in self._pos:
                return self._pos[probe]
            if not probe:
                return None, None
            probe = probe[:-1]


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _plain(node: Any, loc: Loc, index: LineIndex) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            child = (*loc, str(key))
            try:
                line, col = node.lc.key(key)
                index.add(child, line, col)
            except (KeyError, TypeError):  # pragma: no cover - ruamel always records keys
                pass
            out[key] = _plain(value, child, index)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for i, value in enumerate(node):
            child = (*loc, i)
            try:
                line, col = node.lc.item(i)
                index.add(child, line, col)
            except (KeyError, TypeError, IndexError):  # pragma: no cover
                pass
            items.append(_plain(value, child, index))
        return items
    return node


def _too_big(what: str, mark: Any, file: str | None, expected: str) -> InputError:
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return InputError([Problem(what, line=line, column=col, expected=expected)], file=file)


def _flow_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting, brackets inside strings counted too (an
    overestimate at worst, which only costs the full check)."""
    depth = deepest = 0
    for ch in _NOT_BRACKET.sub("", text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def check_limits(
    text: str, file: str | None = None, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> None:
    """Refuse (:class:`InputError`, with the line) a YAML or JSON text whose documents, with
    every alias expanded, would hold more than ``max_nodes`` nodes or nest deeper than
    ``max_depth``, or that has a recursive alias. Linear in the text; nothing is built.

    Syntax errors are left for the real loader to report (with its own message)."""
    if _ANCHOR.search(text) is None and _flow_depth(text) <= max_depth:
        # No alias can occur and flow nesting is shallow; block nesting is bounded by the
        # file's own indentation and left to the loader (whose recursion is caught).
        return
    # size, depth below, anchor of each open collection
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[int, int]] = {}
    total = 0
    expected = (
        f"at most {max_nodes:,} nodes and {max_depth} levels once aliases are expanded "
        "(each *alias counts as a copy of what it names)"
    )
    try:
        for ev in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(ev, yaml.DocumentStartEvent):
                anchors.clear()
                total = 0
                continue
            if isinstance(ev, yaml.CollectionStartEvent):
                stack.append([1, 0, ev.anchor])
                total += 1
                if len(stack) > max_depth:
                    raise _too_big(
                        f"the document nests more than {max_depth} levels deep",
                        ev.start_mark,
                        file,
                        expected,
                    )
                continue
            if isinstance(ev, yaml.CollectionEndEvent):
                size, below, anchor = stack.pop()
                if anchor is not None:
                    anchors[anchor] = (size, below + 1)
                if stack:
                    stack[-1][0] += size
                    stack[-1][1] = max(stack[-1][1], below + 1)
                continue
            if isinstance(ev, yaml.ScalarEvent):
                size, depth, what = 1, 1, f"more than {max_nodes:,} nodes"
                if ev.anchor is not None:
                    anchors[ev.anchor] = (1, 1)
            elif isinstance(ev, yaml.AliasEvent):
                got = anchors.get(str(ev.anchor))
                if got is None:
                    if any(open_[2] == ev.anchor for open_ in stack):
                        raise _too_big(
                            f"the alias *{ev.anchor} refers to a node that contains it "
                            "(a recursive document)",
                            ev.start_mark,
                            file,
                            "aliases to complete nodes only",
                        )
                    continue  # an undefined alias: the loader reports it
                size, depth = got
                what = (
                    f"*{ev.anchor} takes it past {max_nodes:,} nodes once aliases are expanded "
                    "(a 'billion laughs' file?)"
                )
                if len(stack) + depth > max_depth:
                    raise _too_big(
                        f"the document nests more than {max_depth} levels deep once "
                        f"*{ev.anchor} is expanded",
                        ev.start_mark,
                        file,
                        expected,
                    )
            else:
                continue
            total += size
            if total > max_nodes:
                raise _too_big("the document is too large: " + what, ev.start_mark, file, expected)
            if stack:
                stack[-1][0] += size
                stack[-1][1] = max(stack[-1][1], depth)
    except yaml.YAMLError:
        return


def _too_deep(file: str | None) -> InputError:
    return InputError(
        [
            Problem(
                "the document nests too deeply to read",
                expected=f"at most {MAX_DEPTH} levels of nesting",
            )
        ],
        file=file,
    )


def load_yaml_text(text: str, file: str | None = None) -> tuple[Any, LineIndex]:
    """Parse YAML text into plain Python objects and a line index (bounded: see
    :func:`check_limits`)."""
    check_limits(text, file)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in str(what) or "found duplicate key" in str(exc):
            what = "duplicate key " + str(what).split("duplicate key")[-1].strip()
        raise InputError(
            [Problem(f"YAML syntax error: {what}", line=line, column=col)], file=file
        ) from None
    except RecursionError:
        raise _too_deep(file) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. bad characters)
        raise InputError([Problem(f"cannot parse YAML: {exc}")], file=file) from None
    index = LineIndex()
    try:
        return _plain(raw, (), index), index
    except RecursionError:
        raise _too_deep(file) from None


def load_yaml_file(path: Path) -> tuple[Any, LineIndex]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.single(f"cannot read file: {exc}", file=str(path)) from None
    return load_yaml_text(text, str(path))


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional/Union/Annotated flattened)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    return [annotation]


def _model_at(root: type[pydantic.BaseModel], loc: Loc) -> type[pydantic.BaseModel] | None:
    """The pydantic model class that a location's parent refers to, if it can be followed."""
    candidates: list[Any] = [root]
    for part in loc:
        nxt: list[Any] = []
        for cand in candidates:
            if (
                isinstance(cand, type)
                and issubclass(cand, pydantic.BaseModel)
                and isinstance(part, str)
            ):
                for name, field in cand.model_fields.items():
                    if part in (name, field.alias):
                        nxt.extend(_unwrap(field.annotation))
            else:
                origin = typing.get_origin(cand)
                args = typing.get_args(cand)
                if origin in (list, tuple, Sequence) and args and isinstance(part, int):
                    nxt.extend(_unwrap(args[0]))
                elif origin in (dict, Mapping) and len(args) == 2:
                    nxt.extend(_unwrap(args[1]))
        candidates = nxt
        if not candidates:
            return None
    for cand in candidates:
        if isinstance(cand, type) and issubclass(cand, pydantic.BaseModel):
            return cand
    return None


def _field_names(model: type[pydantic.BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_EXPECTED: dict[str, str] = {
    "missing": "this field to be present",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "string_type": "a string",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def problems_from_validation(
    exc: pydantic.ValidationError,
    model: type[pydantic.BaseModel],
    index: LineIndex,
) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        # pydantic puts the tag of a discriminated union or a function-validator name into loc
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
        line, col = index.find(loc)
        kind = err["type"]
        msg = str(err["msg"])
        expected: str | None = _EXPECTED.get(kind)
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            allowed = _field_names(parent) if parent else []
            key = str(loc[-1]) if loc else ""
            msg = f"unknown field '{key}'"
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            if close:
                msg += f" (did you mean '{close[0]}'?)"
            expected = "one of: " + ", ".join(allowed) if allowed else None
        elif kind == "literal_error":
            ctx = err.get("ctx") or {}
            expected = str(ctx.get("expected", "")) or None
            msg = f"invalid value {err.get('input')!r}"
        elif kind in ("value_error", "assertion_error"):
            msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        elif kind == "missing":
            msg = "missing required field"
        elif "ctx" in err and kind.startswith(("greater", "less")):
            msg = f"{msg} (got {err.get('input')!r})"
        problems.append(
            Problem(msg, path=format_loc(loc), line=line, column=col, expected=expected)
        )
    # "missing X" next to "unknown field Y (did you mean 'X'?)" says the same thing twice.
    suggested = set()
    for p in problems:
        if "did you mean '" in p.message:
            name = p.message.split("did you mean '")[1].split("'")[0]
            prefix = p.path.rsplit(".", 1)[0] if "." in p.path else ""
            suggested.add(f"{prefix}.{name}" if prefix else name)
    return [
        p for p in problems if not (p.message == "missing required field" and p.path in suggested)
    ]


def validate(model: type[M], data: Any, index: LineIndex, file: str | None) -> M:
    """Validate plain data against ``model``; raise :class:`InputError` with lines on failure."""
    if not isinstance(data, dict):
        raise InputError.single(
            "the file must hold a mapping at its top level",
            file=file,
            line=1,
            expected="key: value pairs",
        )
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise InputError(problems_from_validation(exc, model, index), file=file) from None


# ---- fast path ---------------------------------------------------------------------------
# ruamel.yaml keeps line numbers but is slow on large files; PyYAML's C parser is ~10x faster.
# Valid files are read with PyYAML using YAML 1.2 core-schema booleans (so ``NO`` stays the
# string Norway's country code) and no implicit timestamps, and rejecting duplicate keys; any
# error falls back to ruamel.yaml for a message with lines.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    pass


_FastLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_FastLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    hashable = [k for k in keys if isinstance(k, str | int | float | bool)]
    if len(set(hashable)) != len(hashable):
        raise ValueError("duplicate key")
    return loader.construct_mapping(node, deep=deep)


_FastLoader.add_constructor("tag:yaml.org,2002:map", _no_duplicates)


def load_yaml_fast(path: Path) -> Any:
    """Parse quickly, without line numbers. Raises on any problem (the caller falls back to
    :func:`load_yaml_file`, which reports it with lines; a document over the limits of
    :func:`check_limits` is refused there too)."""
    text = path.read_text(encoding="utf-8")
    check_limits(text, str(path))
    return yaml.load(text, Loader=_FastLoader)


def safe_load_text(text: str, file: str | None = None) -> Any:
    """``yaml.safe_load`` within the limits of :func:`check_limits` (for small side files:
    variants, costs); YAML errors are left to the caller, as with ``yaml.safe_load``."""
    check_limits(text, file)
    try:
        return yaml.load(text, Loader=_BaseLoader)
    except RecursionError:
        raise _too_deep(file) from None
