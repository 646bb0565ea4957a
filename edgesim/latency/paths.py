"""Path queries with a per-hop breakdown (no I/O).

Sites (regions, PoPs, users, …) are leaves: a path may start or end at one but never passes
through another, except where AWS documents a hairpin (Local Zone, Wavelength zone and Outpost
traffic to the rest of AWS goes through the parent region). Hubs carry transit.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from edgesim.errors import InputError
from edgesim.geo import great_circle_km
from edgesim.topology.model import (
    ClientGroup,
    LinkClass,
    LocalZone,
    NodeKind,
    Outpost,
    WavelengthZone,
    World,
)


@dataclass(frozen=True, slots=True)
class Hop:
    """One link of a path, one way."""

    src: str
    dst: str
    link_class: str
    distance_km: float
    """Length of the fibre route (great circle × route factor)."""
    propagation_one_way_ms: float
    access_one_way_ms: float = 0.0
    """Last mile, on a user's first (or last) hop."""
    processing_one_way_ms: float = 0.0
    """Routers, border and front-end processing; extra delay of a degraded link is added here."""
    queueing_one_way_ms: float = 0.0
    """Filled in by the scenario engine where a queueing model applies."""
    loss: float = 0.0

    @property
    def one_way_ms(self) -> float:
        return (
            self.propagation_one_way_ms
            + self.access_one_way_ms
            + self.processing_one_way_ms
            + self.queueing_one_way_ms
        )


@dataclass(frozen=True, slots=True)
class PathResult:
    """A path and its latency. Links are symmetric, so ``rtt_ms`` is twice the one-way sum."""

    src: str
    dst: str
    hops: tuple[Hop, ...]
    great_circle_km: float

    @property
    def one_way_ms(self) -> float:
        return sum(h.one_way_ms for h in self.hops)

    @property
    def rtt_ms(self) -> float:
        return 2.0 * self.one_way_ms

    @property
    def propagation_one_way_ms(self) -> float:
        return sum(h.propagation_one_way_ms for h in self.hops)

    @property
    def access_one_way_ms(self) -> float:
        return sum(h.access_one_way_ms for h in self.hops)

    @property
    def processing_one_way_ms(self) -> float:
        return sum(h.processing_one_way_ms for h in self.hops)

    @property
    def queueing_one_way_ms(self) -> float:
        return sum(h.queueing_one_way_ms for h in self.hops)

    @property
    def distance_km(self) -> float:
        return sum(h.distance_km for h in self.hops)

    @property
    def loss(self) -> float:
        ok = 1.0
        for h in self.hops:
            ok *= 1.0 - h.loss
        return 1.0 - ok

    @property
    def nodes(self) -> list[str]:
        if not self.hops:
            return [self.src]
        return [self.hops[0].src, *(h.dst for h in self.hops)]

    def fibre_floor_rtt_ms(self, world: World) -> float:
        """The physical floor: the great-circle distance at the speed of light in fibre."""
        return 2.0 * self.great_circle_km / world.params.fibre_km_per_ms

    def reversed(self) -> PathResult:
        """The same path walked the other way (links are symmetric)."""
        hops = tuple(
            Hop(
                h.dst,
                h.src,
                h.link_class,
                h.distance_km,
                h.propagation_one_way_ms,
                h.access_one_way_ms,
                h.processing_one_way_ms,
                h.queueing_one_way_ms,
                h.loss,
            )
            for h in reversed(self.hops)
        )
        return PathResult(self.dst, self.src, hops, self.great_circle_km)

    def as_dict(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "dst": self.dst,
            "great_circle_km": round(self.great_circle_km, 1),
            "one_way_ms": round(self.one_way_ms, 3),
            "rtt_ms": round(self.rtt_ms, 3),
            "loss": round(self.loss, 6),
            "hops": [
                {
                    "src": h.src,
                    "dst": h.dst,
                    "link_class": h.link_class,
                    "distance_km": round(h.distance_km, 1),
                    "propagation_one_way_ms": round(h.propagation_one_way_ms, 3),
                    "access_one_way_ms": round(h.access_one_way_ms, 3),
                    "processing_one_way_ms": round(h.processing_one_way_ms, 3),
                    "queueing_one_way_ms": round(h.queueing_one_way_ms, 3),
                    "one_way_ms": round(h.one_way_ms, 3),
                    "loss": round(h.loss, 6),
                }
                for h in self.hops
            ],
        }


class NoPath(InputError):  # noqa: N818 - reads as "raise NoPath"
    """No usable path between two nodes (links down, or not reachable by these link classes)."""


def _no_path(src: str, dst: str, why: str) -> NoPath:
    return NoPath.single(f"no path from {src} to {dst}: {why}")  # type: ignore[return-value]


def _gc(world: World, a: str, b: str) -> float:
    na, nb = world.nodes[a], world.nodes[b]
    return great_circle_km(na.lat, na.lon, nb.lat, nb.lon)


def edge_weight(
    classes: frozenset[str],
) -> Callable[[str, str, dict[str, dict[str, Any]]], float | None]:
    def weight(_u: str, _v: str, d: dict[str, dict[str, Any]]) -> float | None:
        best: float | None = None
        for key, attrs in d.items():
            if key in classes and attrs["up"]:
                w = float(attrs["w"])
                if best is None or w < best:
                    best = w
        return best

    return weight


def path(
    world: World,
    src: str,
    dst: str,
    classes: Iterable[LinkClass | str],
    *,
    transit: Iterable[str] = (),
) -> PathResult:
    """Lowest-latency path from ``src`` to ``dst`` using only links of ``classes``.

    Hubs are transit nodes; other sites only where listed in ``transit``. Down nodes and links
    are avoided. Raises :class:`NoPath`.
    """
    cls = frozenset(str(c) for c in classes)
    if src not in world.nodes or dst not in world.nodes:
        missing = src if src not in world.nodes else dst
        raise InputError.single(f"no node '{missing}' in world '{world.name}'")
    for end in (src, dst):
        if end in world.down_nodes:
            raise _no_path(src, dst, f"{end} is down")
    if src == dst:
        hops: tuple[Hop, ...] = ()
        if world.nodes[src].kind == NodeKind.REGION:
            half = world.params.intra_region_rtt_ms / 2
            hops = (Hop(src, dst, str(LinkClass.BACKBONE), 0.0, 0.0, processing_one_way_ms=half),)
        return PathResult(src, dst, hops, 0.0)
    allowed_leaves = {src, dst, *transit}
    down = world.down_nodes
    nodes = world.nodes

    def node_ok(n: str) -> bool:
        return n not in down and (nodes[n].kind == NodeKind.HUB or n in allowed_leaves)

    view = nx.subgraph_view(world.graph, filter_node=node_ok)
    weight = edge_weight(cls)
    try:
        route: list[str] = nx.dijkstra_path(view, src, dst, weight=weight)
    except nx.NetworkXNoPath:
        raise _no_path(src, dst, f"not connected over {', '.join(sorted(cls))} links") from None
    return _result(world, src, dst, route, cls)


def paths_from(
    world: World, src: str, dsts: Iterable[str], classes: Iterable[LinkClass | str]
) -> dict[str, PathResult]:
    """:func:`path` from ``src`` to many ``dsts`` with one Dijkstra (same answers: a route
    that would pass through another site is recomputed with :func:`path`). Unreachable
    destinations are left out."""
    cls = frozenset(str(c) for c in classes)
    targets = set(dsts) - {src}
    down = world.down_nodes
    nodes = world.nodes
    if src in down or src not in nodes:
        return {}
    allowed = {src} | targets

    def node_ok(n: str) -> bool:
        return n not in down and (nodes[n].kind == NodeKind.HUB or n in allowed)

    view = nx.subgraph_view(world.graph, filter_node=node_ok)
    _, routes = nx.single_source_dijkstra(view, src, weight=edge_weight(cls))
    out: dict[str, PathResult] = {}
    for dst in targets:
        r = routes.get(dst)
        if r is None or dst in down:
            continue
        if any(nodes[n].kind != NodeKind.HUB for n in r[1:-1]):
            out[dst] = path(world, src, dst, cls)
        else:
            out[dst] = _result(world, src, dst, r, cls)
    return out


def _result(world: World, src: str, dst: str, route: list[str], cls: frozenset[str]) -> PathResult:
    out: list[Hop] = []
    for u, v in itertools.pairwise(route):
        options = [(k, a) for k, a in world.graph[u][v].items() if k in cls and a["up"]]
        key, attrs = min(options, key=lambda ka: float(ka[1]["w"]))
        out.append(
            Hop(
                src=u,
                dst=v,
                link_class=key,
                distance_km=float(attrs["route_km"]),
                propagation_one_way_ms=float(attrs["prop_ms"]),
                processing_one_way_ms=float(attrs["proc_ms"]) + float(attrs["extra_ms"]),
                loss=min(1.0, float(attrs["loss"]) + float(attrs["extra_loss"])),
            )
        )
    result = PathResult(src, dst, tuple(out), _gc(world, src, dst))
    return _with_access(world, result)


def _with_access(world: World, result: PathResult, access: str | None = None) -> PathResult:
    """Add the last mile of a user at either end of the path to that end's hop."""
    if not result.hops:
        return result
    hops = list(result.hops)
    for i, end in ((0, result.src), (len(hops) - 1, result.dst)):
        node = world.nodes[end]
        if isinstance(node, ClientGroup):
            kind = access or node.access
            prof = world.params.access_profile(kind)
            h = hops[i]
            hops[i] = Hop(
                h.src,
                h.dst,
                h.link_class,
                h.distance_km,
                h.propagation_one_way_ms,
                h.access_one_way_ms + prof.rtt_ms / 2,
                h.processing_one_way_ms,
                h.queueing_one_way_ms,
                1.0 - (1.0 - h.loss) * (1.0 - prof.loss),
            )
    return PathResult(result.src, result.dst, tuple(hops), result.great_circle_km)


def _strip_access(world: World, result: PathResult) -> PathResult:
    hops = tuple(
        Hop(
            h.src,
            h.dst,
            h.link_class,
            h.distance_km,
            h.propagation_one_way_ms,
            0.0,
            h.processing_one_way_ms,
            h.queueing_one_way_ms,
            h.loss,
        )
        for h in result.hops
    )
    return PathResult(result.src, result.dst, hops, result.great_circle_km)


def _join(world: World, first: PathResult, second: PathResult) -> PathResult:
    """``first`` followed by ``second``, which must start where ``first`` ends."""
    if first.dst != second.src:
        raise ValueError(f"cannot join a path ending at {first.dst} to one from {second.src}")
    return PathResult(
        first.src, second.dst, first.hops + second.hops, _gc(world, first.src, second.dst)
    )


# ---- named queries -------------------------------------------------------------------------


def client_to_pop(world: World, client: str, pop: str, *, access: str | None = None) -> PathResult:
    """A user to an edge location over the public internet, last mile included."""
    res = path(world, client, pop, [LinkClass.INTERNET])
    return _with_access(world, _strip_access(world, res), access) if access else res


def pop_to_region(world: World, pop: str, region: str) -> PathResult:
    """An edge location to a region over the AWS backbone."""
    return path(world, pop, region, [LinkClass.BACKBONE])


def region_to_region(world: World, a: str, b: str) -> PathResult:
    """Two regions over the AWS backbone (same region: the intra-region round trip)."""
    return path(world, a, b, [LinkClass.BACKBONE])


def client_to_region(
    world: World,
    client: str,
    region: str,
    *,
    via: str = "internet",
    entry: str | None = None,
    access: str | None = None,
) -> PathResult:
    """A user to a region: ``via="internet"`` end to end, or ``via="backbone"``.

    Over the backbone the user reaches an edge location over the internet (``entry``, or the
    one with the lowest internet latency, as anycast would pick) and rides the AWS backbone from
    there, as Global Accelerator does.
    """
    if via == "internet":
        return _client_internet(world, client, region, access)
    if via != "backbone":
        raise ValueError("via must be 'internet' or 'backbone'")
    if entry is None:
        entry = nearest_pop(world, client)
    first = client_to_pop(world, client, entry, access=access)
    second = pop_to_region(world, entry, region)
    return _join(world, first, second)


def _client_internet(world: World, client: str, dst: str, access: str | None) -> PathResult:
    res = path(world, client, dst, [LinkClass.INTERNET])
    if access:
        res = _with_access(world, _strip_access(world, res), access)
    return res


def nearest_pop(world: World, client: str, *, tier: str = "edge") -> str:
    """The edge location with the lowest internet latency from ``client``."""
    from edgesim.latency.tables import one_way_matrix  # local import: tables imports this module

    pops = [n.key for n in world.edge_locations if n.tier == tier and n.key not in world.down_nodes]
    if not pops:
        raise _no_path(client, "any edge location", "no edge location is up")
    m = one_way_matrix(world, [client], pops, LinkClass.INTERNET)
    return pops[int(m[0].argmin())]


def client_to_wavelength(world: World, client: str, zone: str) -> PathResult:
    """A user to a Wavelength zone.

    Only users on the zone's carrier reach it over the carrier's 5G network; everyone else
    reaches the application through the parent region (internet to the region, then the
    region's link to the zone).
    """
    z = world.nodes[zone]
    c = world.nodes[client]
    if not isinstance(z, WavelengthZone):
        raise InputError.single(f"{zone} is not a Wavelength zone")
    if isinstance(c, ClientGroup) and c.carrier == z.carrier:
        return path(world, client, zone, [LinkClass.CARRIER_5G])
    parent = f"region:{z.parent}"
    first = path(world, client, parent, [LinkClass.INTERNET])
    return _join(world, first, path(world, parent, zone, [LinkClass.BACKBONE]))


def to_site(world: World, client: str, site: str, *, access: str | None = None) -> PathResult:
    """A user to wherever an application runs, by the rules of that kind of site."""
    node = world.nodes[site]
    if isinstance(node, WavelengthZone):
        return client_to_wavelength(world, client, site)
    if isinstance(node, Outpost):
        lan = [LinkClass.LAN]
        try:
            return path(world, client, site, lan)
        except NoPath:
            parent = f"region:{node.parent}"
            first = _client_internet(world, client, parent, access)
            return _join(world, first, path(world, parent, site, [LinkClass.SERVICE_LINK]))
    return _client_internet(world, client, site, access)


def site_to_region(world: World, site: str, region: str) -> PathResult:
    """Any AWS site to a region over AWS's own network (hairpinning through the parent)."""
    node = world.nodes[site]
    if isinstance(node, LocalZone | WavelengthZone):
        parent = f"region:{node.parent}"
        classes = [LinkClass.BACKBONE]
        return path(world, site, region, classes, transit=[parent])
    if isinstance(node, Outpost):
        parent = f"region:{node.parent}"
        first = path(world, site, parent, [LinkClass.SERVICE_LINK])
        if parent == region:
            return first
        return _join(world, first, region_to_region(world, parent, region))
    return path(world, site, region, [LinkClass.BACKBONE])
