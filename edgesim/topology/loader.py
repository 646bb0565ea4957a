"""Load a topology by built-in name or path (the only I/O in the topology package)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from edgesim.errors import InputError
from edgesim.latency.params import LatencyParams
from edgesim.topology.builder import build_world
from edgesim.topology.model import World
from edgesim.topology.schema import TopologyFile
from edgesim.yamlio import load_yaml_fast, load_yaml_file, validate


def builtin_worlds() -> list[str]:
    root = importlib.resources.files("edgesim.worlds")
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def topology_path(name: str) -> Path:
    """A built-in world's file, or ``name`` itself as a path."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in name:
        return path
    root = importlib.resources.files("edgesim.worlds")
    candidate = root / f"{name}.yaml"
    if candidate.is_file():
        return Path(str(candidate))
    raise InputError.single(
        f"no built-in world named '{name}' and no such file",
        expected="a path to a topology YAML file or one of: " + ", ".join(builtin_worlds()),
    )


def load_topology_file(name: str) -> tuple[TopologyFile, Path]:
    """Parse and validate a topology file; errors name file, line and field path."""
    path = topology_path(name)
    try:
        data = load_yaml_fast(path)
        return TopologyFile.model_validate(data), path
    except Exception:
        pass
    data, index = load_yaml_file(path)
    topo = validate(TopologyFile, data, index, str(path))
    return topo, path  # pragma: no cover - the fast path only fails where this one does too


def load_world(name: str, params: LatencyParams | None = None) -> World:
    """Load and build a world: ``aws-world``, ``tiny`` or a path to a YAML file."""
    path = topology_path(name)
    try:
        topo = TopologyFile.model_validate(load_yaml_fast(path))
        return build_world(topo, file=str(path), params=params)
    except InputError as exc:
        if all(p.line is not None for p in exc.problems):
            raise
    except Exception:
        pass
    data, index = load_yaml_file(path)
    topo = validate(TopologyFile, data, index, str(path))
    return build_world(topo, index=index, file=str(path), params=params)
