"""Write scenario dictionaries as readable YAML: short mappings and lists on one line
(``{name: www, alias: cloudfront:site}``), everything else in block style, keys in the order
given. Shared by the CloudFormation importer and :mod:`edgesim.cdk`."""

from __future__ import annotations

from typing import Any

import yaml

LINE = 100


class _Flow(dict[str, Any]):
    pass


class _FlowList(list[Any]):
    pass


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key


def _flow_map(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _flow_seq(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_Flow, _flow_map)
_Dumper.add_representer(_FlowList, _flow_seq)


def _one_line(node: Any) -> str:
    text: str = yaml.dump(
        node, Dumper=_Dumper, default_flow_style=True, width=10_000, sort_keys=False
    )
    return text.strip().removesuffix("...").strip()


def _prepare(node: Any, indent: int) -> Any:
    if isinstance(node, dict):
        if node and len(_one_line(node)) + indent + 2 <= LINE and _shallow(node):
            return _Flow({k: _flowed(v) for k, v in node.items()})
        return {k: _prepare(v, indent + 2) for k, v in node.items()}
    if isinstance(node, list):
        if all(not isinstance(v, dict | list) for v in node) and (
            len(_one_line(node)) + indent <= LINE
        ):
            return _FlowList(node)
        return [_prepare(v, indent + 2) for v in node]
    return node


def _shallow(node: dict[str, Any]) -> bool:
    """Mappings whose values are scalars or one level of small lists/mappings."""
    for v in node.values():
        if isinstance(v, dict) and any(isinstance(x, dict | list) for x in v.values()):
            return False
        if isinstance(v, list) and any(isinstance(x, dict | list) for x in v):
            return False
    return True


def _flowed(node: Any) -> Any:
    if isinstance(node, dict):
        return _Flow({k: _flowed(v) for k, v in node.items()})
    if isinstance(node, list):
        return _FlowList(_flowed(v) for v in node)
    return node


def dump_scenario(data: dict[str, Any], header: list[str] | None = None) -> str:
    """YAML text of a scenario dictionary, with ``# `` comment lines first."""
    body: str = yaml.dump(
        _prepare(data, 0),
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
    )
    lines = [f"# {h}".rstrip() for h in header or []]
    top = "\n".join(lines) + "\n" if lines else ""
    # a blank line between top-level sections
    out: list[str] = []
    for line in body.splitlines():
        if out and line and not line.startswith((" ", "-", "#")) and ":" in line:
            key = line.split(":", 1)[0]
            if key in _SECTIONS:
                out.append("")
        out.append(line)
    return top + "\n".join(out) + "\n"


_SECTIONS = {
    "clients",
    "workloads",
    "dns",
    "endpoints",
    "s3",
    "cloudfront",
    "accelerators",
    "route53",
    "timeline",
    "assertions",
}
