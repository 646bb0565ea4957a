"""Topology: the world as a networkx graph (I/O-free apart from the loader)."""

from edgesim.topology.builder import build_world
from edgesim.topology.loader import builtin_worlds, load_topology_file, load_world
from edgesim.topology.model import (
    Carrier,
    ClientGroup,
    EdgeLocation,
    Hub,
    LinkClass,
    LocalZone,
    Node,
    NodeKind,
    Outpost,
    Region,
    Resolver,
    WavelengthZone,
    World,
)
from edgesim.topology.schema import TopologyFile

__all__ = [
    "Carrier",
    "ClientGroup",
    "EdgeLocation",
    "Hub",
    "LinkClass",
    "LocalZone",
    "Node",
    "NodeKind",
    "Outpost",
    "Region",
    "Resolver",
    "TopologyFile",
    "WavelengthZone",
    "World",
    "build_world",
    "builtin_worlds",
    "load_topology_file",
    "load_world",
]
