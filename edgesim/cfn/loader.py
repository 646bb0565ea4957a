"""Read a CloudFormation template (YAML with the short-form intrinsics, or JSON).

Every short-form tag (``!Ref``, ``!GetAtt``, ``!Sub`` …) becomes its long form
(``{"Ref": …}``, ``{"Fn::GetAtt": […]}``, ``{"Fn::Sub": …}``), so the evaluator sees one
shape. ``!GetAtt A.B`` becomes ``["A", "B"]``. A tag that is not an intrinsic function is an
error naming the path. The line and column of every key and list item is kept in a
:class:`~edgesim.yamlio.LineIndex` for error messages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError

from edgesim.errors import InputError, Problem
from edgesim.yamlio import LineIndex, check_limits, format_loc

Loc = tuple[str | int, ...]

#: Short-form tag → long-form key. ``!Condition`` is only meaningful inside Conditions and
#: Fn::If/And/Or/Not, where it is the reference to a named condition.
SHORT_FORMS: dict[str, str] = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in (
            "GetAtt",
            "Sub",
            "Join",
            "Select",
            "Split",
            "If",
            "Equals",
            "Not",
            "And",
            "Or",
            "FindInMap",
            "GetAZs",
            "ImportValue",
            "Base64",
            "Cidr",
            "Length",
            "ToJsonString",
        )
    },
}


def _unknown_tag(tag: str, loc: Loc, index: LineIndex, file: str | None) -> InputError:
    line, col = index.find(loc)
    return InputError(
        [
            Problem(
                f"unknown intrinsic function {tag}",
                path=format_loc(loc),
                line=line,
                column=col,
                expected="one of: " + ", ".join(sorted(SHORT_FORMS)),
            )
        ],
        file=file,
    )


def _tag_of(node: Any) -> str | None:
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", None) if tag is not None else None
    if isinstance(value, str) and value.startswith("!"):
        return value
    return None


def _plain(node: Any, loc: Loc, index: LineIndex, file: str | None) -> Any:
    tag = _tag_of(node) if isinstance(node, CommentedMap | CommentedSeq | TaggedScalar) else None
    if tag is not None:
        key = SHORT_FORMS.get(tag)
        if key is None:
            raise _unknown_tag(tag, loc, index, file)
        if isinstance(node, TaggedScalar):
            inner: Any = str(node.value) if node.value is not None else ""
            if key == "Fn::GetAtt":
                inner = inner.split(".", 1) if "." in inner else [inner]
        else:
            inner = _untagged(node, (*loc, key), index, file)
        return {key: inner}
    return _untagged(node, loc, index, file)


def _untagged(node: Any, loc: Loc, index: LineIndex, file: str | None) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = (*loc, str(key))
            try:
                line, col = node.lc.key(key)
                index.add(child, line, col)
            except (KeyError, TypeError):  # pragma: no cover - ruamel records keys
                pass
            out[str(key)] = _plain(value, child, index, file)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for i, value in enumerate(node):
            child = (*loc, i)
            try:
                pos = node.lc.item(i)
                if pos is not None:
                    index.add(child, pos[0], pos[1])
            except (KeyError, TypeError, IndexError):  # pragma: no cover
                pass
            items.append(_plain(value, child, index, file))
        return items
    if isinstance(node, TaggedScalar):  # pragma: no cover - handled by _plain
        return str(node.value)
    if isinstance(node, str):
        return str(node)
    return node


def load_template_text(text: str, file: str | None = None) -> tuple[dict[str, Any], LineIndex]:
    """Parse a template (YAML or JSON) into long-form plain Python and a line index."""
    check_limits(text, file)  # aliases expanded: bounded size and depth
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    index = LineIndex()
    try:
        raw = yaml.load(text)
        data = _plain(raw, (), index, file)
    except MarkedYAMLError as exc:
        # JSON that YAML cannot read (tabs, for one) gets a second chance as JSON.
        try:
            data = json.loads(text)
            index = LineIndex()
        except json.JSONDecodeError:
            mark = exc.problem_mark or exc.context_mark
            raise InputError(
                [
                    Problem(
                        f"template syntax error: {exc.problem or exc.context or 'invalid YAML'}",
                        line=mark.line + 1 if mark is not None else None,
                        column=mark.column + 1 if mark is not None else None,
                    )
                ],
                file=file,
            ) from None
    except InputError:
        raise
    except Exception as exc:  # ruamel raises a few unmarked errors
        raise InputError([Problem(f"cannot parse the template: {exc}")], file=file) from None
    if not isinstance(data, dict):
        raise InputError.single(
            "a template is a mapping with a Resources section", file=file, expected="Resources:"
        )
    if not isinstance(data.get("Resources"), dict) or not data["Resources"]:
        raise InputError.single(
            "the template has no Resources", file=file, expected="a Resources mapping"
        )
    return data, index


def load_template(path: str | Path) -> tuple[dict[str, Any], LineIndex]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.single(f"cannot read file: {exc}", file=str(path)) from None
    return load_template_text(text, str(path))
