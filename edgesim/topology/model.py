"""The world: typed nodes and links in one networkx graph (no I/O).

Node keys are ``kind:id`` strings (``region:us-east-1``, ``pop:NRT57``, ``client:tokyo``).  The
graph is a :class:`networkx.MultiGraph` whose edge keys are link classes, so a corridor carries
both an AWS backbone edge and a public-internet edge between the same two hubs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import networkx as nx

from edgesim.errors import InputError
from edgesim.latency.params import LatencyParams


class NodeKind(StrEnum):
    HUB = "hub"
    REGION = "region"
    POP = "pop"
    LOCAL_ZONE = "lz"
    WAVELENGTH_ZONE = "wlz"
    OUTPOST = "outpost"
    CLIENT = "client"
    RESOLVER = "resolver"


class LinkClass(StrEnum):
    INTERNET = "internet"
    BACKBONE = "backbone"
    CARRIER_5G = "carrier5g"
    SERVICE_LINK = "service_link"
    LAN = "lan"


#: Aliases accepted for kinds in ``kind:id`` names on the command line and in scenarios.
KIND_ALIASES: dict[str, NodeKind] = {
    "hub": NodeKind.HUB,
    "region": NodeKind.REGION,
    "pop": NodeKind.POP,
    "edge": NodeKind.POP,
    "lz": NodeKind.LOCAL_ZONE,
    "local-zone": NodeKind.LOCAL_ZONE,
    "wlz": NodeKind.WAVELENGTH_ZONE,
    "wavelength": NodeKind.WAVELENGTH_ZONE,
    "outpost": NodeKind.OUTPOST,
    "client": NodeKind.CLIENT,
    "group": NodeKind.CLIENT,
    "resolver": NodeKind.RESOLVER,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    id: str
    lat: float
    lon: float
    name: str = ""

    kind: NodeKind = field(init=False, default=NodeKind.HUB)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hub(Node):
    kind: NodeKind = field(init=False, default=NodeKind.HUB)


@dataclass(frozen=True, slots=True, kw_only=True)
class Region(Node):
    country: str
    azs: tuple[str, ...] = ()
    kind: NodeKind = field(init=False, default=NodeKind.REGION)


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeLocation(Node):
    country: str
    tier: str = "edge"  # "edge" or "regional" (regional edge cache)
    price_class_region: str = ""
    kind: NodeKind = field(init=False, default=NodeKind.POP)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalZone(Node):
    country: str
    parent: str
    kind: NodeKind = field(init=False, default=NodeKind.LOCAL_ZONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class WavelengthZone(Node):
    country: str
    parent: str
    carrier: str
    kind: NodeKind = field(init=False, default=NodeKind.WAVELENGTH_ZONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outpost(Node):
    parent: str
    site: str
    kind: NodeKind = field(init=False, default=NodeKind.OUTPOST)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientGroup(Node):
    metro: str
    country: str
    population: int
    access: str = "cable"
    carrier: str | None = None
    resolver: str = "isp"
    timezone: str = "UTC"
    kind: NodeKind = field(init=False, default=NodeKind.CLIENT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolver(Node):
    resolver_kind: str
    country: str | None = None
    kind: NodeKind = field(init=False, default=NodeKind.RESOLVER)


@dataclass(frozen=True, slots=True)
class Carrier:
    id: str
    name: str
    country: str


@dataclass
class World:
    """A topology ready for path queries. Build it with :func:`edgesim.topology.build_world`."""

    name: str
    params: LatencyParams
    graph: nx.MultiGraph = field(repr=False)
    nodes: dict[str, Node] = field(repr=False)
    carriers: dict[str, Carrier] = field(default_factory=dict, repr=False)
    description: str = ""
    down_nodes: set[str] = field(default_factory=set, repr=False)
    version: int = 0
    """Bumped on every state change, so cached tables know when to recompute."""
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    """Derived tables keyed by (what, version); see :mod:`edgesim.latency.tables`."""

    # ---- lookups -------------------------------------------------------------------------
    def of_kind(self, kind: NodeKind) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def iter_kind(self, kind: NodeKind) -> Iterator[Node]:
        return (n for n in self.nodes.values() if n.kind == kind)

    @property
    def regions(self) -> list[Region]:
        return [n for n in self.nodes.values() if isinstance(n, Region)]

    @property
    def edge_locations(self) -> list[EdgeLocation]:
        return [n for n in self.nodes.values() if isinstance(n, EdgeLocation)]

    @property
    def client_groups(self) -> list[ClientGroup]:
        return [n for n in self.nodes.values() if isinstance(n, ClientGroup)]

    @property
    def hubs(self) -> list[Hub]:
        return [n for n in self.nodes.values() if isinstance(n, Hub)]

    def node(self, key: str) -> Node:
        return self.nodes[key]

    def resolve(self, name: str, kinds: tuple[NodeKind, ...] | None = None) -> str:
        """Turn ``us-east-1``, ``region:us-east-1``, ``NRT57`` or ``tokyo`` into a node key.

        Raises :class:`InputError` naming close matches when nothing, or more than one node,
        fits.
        """
        if ":" in name:
            prefix, _, ident = name.partition(":")
            kind = KIND_ALIASES.get(prefix)
            if kind is not None and kinds is not None and kind not in kinds:
                return self._unknown(name, kinds)
            if kind is not None:
                key = f"{kind}:{ident}"
                if key in self.nodes:
                    return key
                folded = [k for k in self.nodes if k.lower() == key.lower()]
                if len(folded) == 1:
                    return folded[0]
                return self._unknown(name, kinds)
        matches = [
            k
            for k, n in self.nodes.items()
            if (n.id == name or n.id.lower() == name.lower()) and (kinds is None or n.kind in kinds)
        ]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            # Prefer the "more specific" site over a hub of the same name.
            non_hub = [m for m in matches if not m.startswith("hub:")]
            if len(non_hub) == 1:
                return non_hub[0]
            raise InputError.single(
                f"'{name}' is ambiguous", expected="one of " + ", ".join(sorted(matches))
            )
        return self._unknown(name, kinds)

    def _unknown(self, name: str, kinds: tuple[NodeKind, ...] | None) -> str:
        pool = [n.id for n in self.nodes.values() if kinds is None or n.kind in kinds] + [
            k for k, n in self.nodes.items() if kinds is None or n.kind in kinds
        ]
        close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        what = "/".join(str(k) for k in kinds) if kinds else "node"
        raise InputError.single(
            f"no {what} named '{name}' in world '{self.name}'{hint}",
            expected="an id such as us-east-1, NRT57 or tokyo, optionally as kind:id",
        )

    # ---- state changes -------------------------------------------------------------------
    def link(self, a: str, b: str, link_class: LinkClass | str) -> dict[str, Any]:
        data: dict[str, Any] = self.graph.edges[a, b, str(link_class)]
        return data

    def set_link_up(self, a: str, b: str, link_class: LinkClass | str, up: bool) -> None:
        self.link(a, b, link_class)["up"] = up
        self.version += 1

    def degrade_link(
        self,
        a: str,
        b: str,
        link_class: LinkClass | str,
        *,
        extra_one_way_ms: float = 0.0,
        extra_loss: float = 0.0,
    ) -> None:
        """Add delay and loss to a link (a timeline event); zero values restore it."""
        data = self.link(a, b, link_class)
        data["extra_ms"] = float(extra_one_way_ms)
        data["extra_loss"] = float(extra_loss)
        data["w"] = data["prop_ms"] + data["proc_ms"] + data["extra_ms"]
        self.version += 1

    def set_node_up(self, key: str, up: bool) -> None:
        if key not in self.nodes:
            raise KeyError(key)
        if up:
            self.down_nodes.discard(key)
        else:
            self.down_nodes.add(key)
        self.version += 1

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {str(k): 0 for k in NodeKind}
        for n in self.nodes.values():
            out[str(n.kind)] += 1
        return out

    def link_counts(self) -> dict[str, int]:
        out: dict[str, int] = {str(k): 0 for k in LinkClass}
        for _, _, k in self.graph.edges(keys=True):
            out[str(k)] += 1
        return out
