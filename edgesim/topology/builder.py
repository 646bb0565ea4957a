"""Turn a validated topology file into a :class:`World` graph (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from edgesim.errors import InputError, Problem
from edgesim.geo import great_circle_km, great_circle_matrix_km
from edgesim.latency.params import LatencyParams
from edgesim.topology.model import (
    KIND_ALIASES,
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
from edgesim.yamlio import LineIndex, format_loc

Loc = tuple[str | int, ...]


def make_params(topo: TopologyFile, base: LatencyParams | None = None) -> LatencyParams:
    params = base or LatencyParams()
    if topo.latency is None:
        return params
    updates: dict[str, Any] = topo.latency.as_updates()
    if topo.latency.access:
        merged = dict(params.access)
        merged.update({str(k): v for k, v in topo.latency.access.items()})
        updates["access"] = merged
    return params.model_copy(update=updates)


def check_references(topo: TopologyFile) -> list[tuple[Loc, str, str | None]]:
    """Cross-field checks pydantic cannot do: duplicates, parents, carriers, link ends."""
    out: list[tuple[Loc, str, str | None]] = []

    def dupes(section: str, ids: Sequence[str], what: str) -> None:
        seen: dict[str, int] = {}
        for i, ident in enumerate(ids):
            if ident in seen:
                out.append(
                    (
                        (section, i, "id" if what != "code" else "code"),
                        f"duplicate {section[:-1].replace('_', ' ')} {what} '{ident}'"
                        f" (first at {section}[{seen[ident]}])",
                        f"unique {what}s",
                    )
                )
            else:
                seen[ident] = i

    dupes("hubs", [h.id for h in topo.hubs], "id")
    dupes("regions", [r.code for r in topo.regions], "code")
    dupes("edge_locations", [e.id for e in topo.edge_locations], "id")
    dupes("local_zones", [z.code for z in topo.local_zones], "code")
    dupes("wavelength_zones", [z.code for z in topo.wavelength_zones], "code")
    dupes("outposts", [o.id for o in topo.outposts], "id")
    dupes("client_groups", [c.id for c in topo.client_groups], "id")
    dupes("resolvers", [r.id for r in topo.resolvers], "id")
    dupes("carriers", [c.id for c in topo.carriers], "id")

    hubs = {h.id for h in topo.hubs}
    regions = sorted(r.code for r in topo.regions)
    region_set = set(regions)
    carriers = sorted(c.id for c in topo.carriers)
    carrier_set = set(carriers)

    for i, c in enumerate(topo.corridors):
        for end in ("a", "b"):
            hub = getattr(c, end)
            if hub not in hubs:
                out.append((("corridors", i, end), f"no hub named '{hub}'", "the id of a hub"))
        if c.a == c.b:
            out.append((("corridors", i, "b"), "a corridor must join two different hubs", None))

    def parent(section: str, items: Iterable[Any]) -> None:
        for i, item in enumerate(items):
            if item.parent not in region_set:
                out.append(
                    (
                        (section, i, "parent"),
                        f"parent region '{item.parent}' is not in regions",
                        _some("a region code", regions),
                    )
                )

    parent("local_zones", topo.local_zones)
    parent("wavelength_zones", topo.wavelength_zones)
    parent("outposts", topo.outposts)

    for i, z in enumerate(topo.wavelength_zones):
        if z.carrier not in carrier_set:
            out.append(
                (
                    ("wavelength_zones", i, "carrier"),
                    f"unknown carrier '{z.carrier}'",
                    _some("a carrier id", carriers),
                )
            )
    for i, g in enumerate(topo.client_groups):
        if g.carrier is not None and g.carrier not in carrier_set:
            out.append(
                (
                    ("client_groups", i, "carrier"),
                    f"unknown carrier '{g.carrier}'",
                    _some("a carrier id", carriers),
                )
            )

    keys = set(_node_keys(topo))
    for i, link in enumerate(topo.links):
        for end in ("a", "b"):
            name = getattr(link, end)
            key = _canonical(name)
            if key is None or key not in keys:
                out.append(
                    (
                        ("links", i, end),
                        f"link end '{name}' is not a node of this topology",
                        "kind:id, e.g. outpost:plant-1, client:tokyo, region:us-east-1",
                    )
                )
    return out


def _some(what: str, options: Sequence[str]) -> str:
    if not options:
        return what + " (none are defined)"
    shown = ", ".join(options[:8])
    return f"{what}: {shown}{', ...' if len(options) > 8 else ''}"


def _canonical(name: str) -> str | None:
    prefix, sep, ident = name.partition(":")
    if not sep:
        return None
    kind = KIND_ALIASES.get(prefix)
    return f"{kind}:{ident}" if kind is not None else None


def _node_keys(topo: TopologyFile) -> Iterable[str]:
    yield from (f"hub:{h.id}" for h in topo.hubs)
    yield from (f"region:{r.code}" for r in topo.regions)
    yield from (f"pop:{e.id}" for e in topo.edge_locations)
    yield from (f"lz:{z.code}" for z in topo.local_zones)
    yield from (f"wlz:{z.code}" for z in topo.wavelength_zones)
    yield from (f"outpost:{o.id}" for o in topo.outposts)
    yield from (f"client:{c.id}" for c in topo.client_groups)
    yield from (f"resolver:{r.id}" for r in topo.resolvers)


def _nodes(topo: TopologyFile) -> list[Node]:
    nodes: list[Node] = [Hub(id=h.id, lat=h.lat, lon=h.lon, name=h.name or h.id) for h in topo.hubs]
    nodes += [
        Region(id=r.code, lat=r.lat, lon=r.lon, name=r.city, country=r.country, azs=tuple(r.azs))
        for r in topo.regions
    ]
    nodes += [
        EdgeLocation(
            id=e.id,
            lat=e.lat,
            lon=e.lon,
            name=e.city,
            country=e.country,
            tier=e.tier,
            price_class_region=e.price_class_region,
        )
        for e in topo.edge_locations
    ]
    nodes += [
        LocalZone(id=z.code, lat=z.lat, lon=z.lon, name=z.city, country=z.country, parent=z.parent)
        for z in topo.local_zones
    ]
    nodes += [
        WavelengthZone(
            id=z.code,
            lat=z.lat,
            lon=z.lon,
            name=z.city,
            country=z.country,
            parent=z.parent,
            carrier=z.carrier,
        )
        for z in topo.wavelength_zones
    ]
    nodes += [
        Outpost(id=o.id, lat=o.lat, lon=o.lon, name=o.site, parent=o.parent, site=o.site)
        for o in topo.outposts
    ]
    nodes += [
        ClientGroup(
            id=c.id,
            lat=c.lat,
            lon=c.lon,
            name=c.metro,
            metro=c.metro,
            country=c.country,
            population=c.population,
            access=c.access,
            carrier=c.carrier,
            resolver=c.resolver,
            timezone=c.timezone,
        )
        for c in topo.client_groups
    ]
    nodes += [
        Resolver(
            id=r.id,
            lat=r.lat,
            lon=r.lon,
            name=r.city or r.id,
            resolver_kind=r.kind,
            country=r.country,
        )
        for r in topo.resolvers
    ]
    return nodes


def _add_edge(
    g: nx.MultiGraph,
    a: str,
    b: str,
    cls: LinkClass,
    *,
    gc_km: float,
    route_factor: float,
    params: LatencyParams,
    proc_ms: float,
    loss: float,
    prop_ms: float | None = None,
    kind: str = "",
    role: str = "",
    rf_own: float | None = None,
) -> None:
    route_km = gc_km * route_factor
    if prop_ms is None:
        prop_ms = route_km / params.fibre_km_per_ms
    g.add_edge(
        a,
        b,
        key=str(cls),
        cls=str(cls),
        kind=kind,
        role=role,  # "corridor:<index>", "attach:<site kind>" or "" (for edgesim.latency.fit)
        rf_own=rf_own,  # a corridor's own route factor, if it sets one
        gc_km=gc_km,
        route_km=route_km,
        prop_ms=prop_ms,
        proc_ms=proc_ms,
        extra_ms=0.0,
        loss=loss,
        extra_loss=0.0,
        up=True,
        w=prop_ms + proc_ms,
    )


def build_world(
    topo: TopologyFile,
    *,
    index: LineIndex | None = None,
    file: str | None = None,
    params: LatencyParams | None = None,
) -> World:
    """Check references and build the graph. Raises :class:`InputError` on bad references."""
    refs = check_references(topo)
    if refs:
        idx = index or LineIndex()
        problems = []
        for loc, msg, expected in refs:
            line, col = idx.find(loc)
            problems.append(
                Problem(msg, path=format_loc(loc), line=line, column=col, expected=expected)
            )
        raise InputError(problems, file=file)

    p = make_params(topo, params)
    nodes = _nodes(topo)
    g: nx.MultiGraph = nx.MultiGraph()
    for n in nodes:
        g.add_node(n.key)
    by_key = {n.key: n for n in nodes}
    world = World(
        name=topo.name,
        params=p,
        graph=g,
        nodes=by_key,
        carriers={c.id: Carrier(c.id, c.name, c.country) for c in topo.carriers},
        description=topo.description,
    )

    # Corridors: an internet edge each, and a backbone edge where the AWS backbone runs.
    for ci, c in enumerate(topo.corridors):
        a, b = by_key[f"hub:{c.a}"], by_key[f"hub:{c.b}"]
        gc = great_circle_km(a.lat, a.lon, b.lat, b.lon)
        rf = c.route_factor or (
            p.submarine_route_factor if c.kind == "submarine" else p.terrestrial_route_factor
        )
        if c.backbone:
            _add_edge(
                g,
                a.key,
                b.key,
                LinkClass.BACKBONE,
                gc_km=gc,
                route_factor=rf,
                params=p,
                proc_ms=p.backbone_hop_one_way_ms,
                loss=p.backbone_loss_per_hop,
                kind=c.kind,
                role=f"corridor:{ci}",
                rf_own=c.route_factor,
            )
        _add_edge(
            g,
            a.key,
            b.key,
            LinkClass.INTERNET,
            gc_km=gc,
            route_factor=rf * p.internet_route_factor,
            params=p,
            proc_ms=p.internet_hop_one_way_ms,
            loss=p.internet_loss_per_hop,
            kind=c.kind,
            role=f"corridor:{ci}",
            rf_own=c.route_factor,
        )

    own = {f"region:{r.code}": r.ingress_one_way_ms for r in topo.regions}
    own.update({f"pop:{e.id}": e.ingress_one_way_ms for e in topo.edge_locations})
    _attach_leaves(world, nodes, {k: v for k, v in own.items() if v is not None})
    _special_links(world, topo, nodes)
    _check_connected(world, topo, index, file)
    return world


def _attach_leaves(
    world: World, nodes: Sequence[Node], own_ingress: dict[str, float] | None = None
) -> None:
    """Connect every site to its nearest hub(s): the metro or regional network. A site's own
    ``ingress_one_way_ms`` (``own_ingress``) replaces its kind's ingress cost."""
    own_ingress = own_ingress or {}
    p = world.params
    g = world.graph
    hubs = [n for n in nodes if n.kind == NodeKind.HUB]
    leaves = [
        n
        for n in nodes
        if n.kind
        in (NodeKind.REGION, NodeKind.POP, NodeKind.LOCAL_ZONE, NodeKind.CLIENT, NodeKind.RESOLVER)
    ]
    if not leaves:
        return
    dist = great_circle_matrix_km(
        [n.lat for n in leaves],
        [n.lon for n in leaves],
        [h.lat for h in hubs],
        [h.lon for h in hubs],
    )
    k = min(p.attach_hubs, len(hubs))
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    for li, leaf in enumerate(leaves):
        nearest = float(dist[li, order[li, 0]])
        for hj in order[li]:
            d = float(dist[li, hj])
            if d > nearest + p.attach_slack_km:
                continue
            hub = hubs[int(hj)].key
            # (ingress processing at the site, whether it joins the AWS backbone)
            ingress, on_backbone = {
                NodeKind.REGION: (p.region_ingress_one_way_ms, True),
                NodeKind.POP: (p.pop_ingress_one_way_ms, True),
                # Local Zones have their own internet connection (docs/edge-services.md
                # §Local Zones); their backbone traffic hairpins through the parent region
                # (_special_links).
                NodeKind.LOCAL_ZONE: (p.region_ingress_one_way_ms, False),
            }.get(leaf.kind, (0.0, False))  # users and resolvers: the internet only
            ingress = own_ingress.get(leaf.key, ingress)
            if isinstance(leaf, ClientGroup):  # the country's access networks' excess
                ingress += p.country_extra_rtt_ms.get(leaf.country, 0.0) / 2
            if on_backbone:
                _add_edge(
                    g,
                    leaf.key,
                    hub,
                    LinkClass.BACKBONE,
                    gc_km=d,
                    route_factor=p.terrestrial_route_factor,
                    params=p,
                    proc_ms=ingress,
                    loss=p.backbone_loss_per_hop,
                    role=f"attach:{leaf.kind}" + (":own" if leaf.key in own_ingress else ""),
                )
            _add_edge(
                g,
                leaf.key,
                hub,
                LinkClass.INTERNET,
                gc_km=d,
                route_factor=p.metro_route_factor,
                params=p,
                proc_ms=ingress + p.internet_hop_one_way_ms,
                loss=p.internet_loss_per_hop,
                role=f"attach:{leaf.kind}" + (":own" if leaf.key in own_ingress else ""),
            )


def _special_links(world: World, topo: TopologyFile, nodes: Sequence[Node]) -> None:
    p = world.params
    g = world.graph
    by_key = world.nodes

    def gc(a: Node, b: Node) -> float:
        return great_circle_km(a.lat, a.lon, b.lat, b.lon)

    clients = [n for n in nodes if isinstance(n, ClientGroup)]
    for n in nodes:
        if isinstance(n, LocalZone | WavelengthZone):
            # Traffic to the rest of AWS hairpins through the parent region.
            parent = by_key[f"region:{n.parent}"]
            _add_edge(
                g,
                n.key,
                parent.key,
                LinkClass.BACKBONE,
                gc_km=gc(n, parent),
                route_factor=p.terrestrial_route_factor,
                params=p,
                proc_ms=p.backbone_hop_one_way_ms,
                loss=p.backbone_loss_per_hop,
            )
        if isinstance(n, WavelengthZone):
            for c in clients:
                if c.carrier == n.carrier:
                    _add_edge(
                        g,
                        c.key,
                        n.key,
                        LinkClass.CARRIER_5G,
                        gc_km=gc(c, n),
                        route_factor=p.carrier_route_factor,
                        params=p,
                        proc_ms=p.carrier_core_one_way_ms,
                        loss=p.backbone_loss_per_hop,
                    )
        if isinstance(n, Outpost):
            parent = by_key[f"region:{n.parent}"]
            _add_edge(
                g,
                n.key,
                parent.key,
                LinkClass.SERVICE_LINK,
                gc_km=gc(n, parent),
                route_factor=p.metro_route_factor,
                params=p,
                proc_ms=p.service_link_one_way_ms,
                loss=p.internet_loss_per_hop,
            )

    for link in topo.links:
        a = by_key[str(_canonical(link.a))]
        b = by_key[str(_canonical(link.b))]
        cls = LinkClass(link.link_class)
        proc = {
            LinkClass.LAN: p.lan_one_way_ms,
            LinkClass.SERVICE_LINK: p.service_link_one_way_ms,
            LinkClass.CARRIER_5G: p.carrier_core_one_way_ms,
            LinkClass.BACKBONE: p.backbone_hop_one_way_ms,
            LinkClass.INTERNET: p.internet_hop_one_way_ms,
        }[cls]
        d = gc(a, b)
        prop = None
        if link.one_way_ms is not None:
            prop, proc = link.one_way_ms, 0.0
        _add_edge(
            g,
            a.key,
            b.key,
            cls,
            gc_km=d,
            route_factor=p.terrestrial_route_factor,
            params=p,
            proc_ms=proc,
            loss=p.backbone_loss_per_hop,
            prop_ms=prop,
        )


def _check_connected(
    world: World, topo: TopologyFile, index: LineIndex | None, file: str | None
) -> None:
    hubs = [h.key for h in world.hubs]
    if len(hubs) < 2:
        return
    hg = world.graph.subgraph(hubs)
    comps = list(nx.connected_components(hg))
    if len(comps) <= 1:
        return
    comps.sort(key=len, reverse=True)
    problems = []
    hub_pos = {h.id: i for i, h in enumerate(topo.hubs)}
    for comp in comps[1:]:
        ids = sorted(k.split(":", 1)[1] for k in comp)
        loc: Loc = ("hubs", hub_pos[ids[0]])
        line, col = (index or LineIndex()).find(loc)
        problems.append(
            Problem(
                f"hub(s) {', '.join(ids[:6])} are not connected to the rest by any corridor",
                path=format_loc(loc),
                line=line,
                column=col,
                expected="corridors joining every hub into one network",
            )
        )
    raise InputError(problems, file=file)


def count_kinds(nodes: Iterable[Node]) -> Counter[str]:
    return Counter(str(n.kind) for n in nodes)
