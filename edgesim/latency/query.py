"""Pick the right path query for two nodes of any kind (used by the CLI and scenarios)."""

from __future__ import annotations

import numpy as np

from edgesim.errors import InputError
from edgesim.geo import great_circle_km
from edgesim.latency.paths import (
    NoPath,
    PathResult,
    client_to_pop,
    client_to_region,
    client_to_wavelength,
    path,
    site_to_region,
    to_site,
)
from edgesim.latency.tables import FloatArray, keys_of, rtt_matrix
from edgesim.topology.model import LinkClass, NodeKind, World

_SITES = (NodeKind.LOCAL_ZONE, NodeKind.WAVELENGTH_ZONE, NodeKind.OUTPOST)
_USERS = (NodeKind.CLIENT, NodeKind.RESOLVER)


def route(
    world: World, src: str, dst: str, *, via: str = "auto", access: str | None = None
) -> PathResult:
    """The path a packet takes between two nodes, by the rules for their kinds.

    - user → edge location, region, Local Zone, Outpost: over the internet (``via=backbone``
      for a region: to the nearest edge location, then the AWS backbone);
    - user → Wavelength zone: the carrier's 5G network for its subscribers, else via the parent;
    - AWS site → AWS site: the AWS backbone (Local Zones, Wavelength zones and Outposts
      through their parent region);
    - anything else: the public internet.
    Reversed pairs take the reversed path.
    """
    a, b = world.nodes[src].kind, world.nodes[dst].kind
    if a not in _USERS and b in _USERS:
        return route(world, dst, src, via=via, access=access).reversed()
    if a in _SITES and b == NodeKind.REGION:
        return site_to_region(world, src, dst)
    if a == NodeKind.REGION and b in _SITES:
        return site_to_region(world, dst, src).reversed()
    if b in _SITES and a not in _USERS and via != "internet":
        # Another AWS site (an edge location, a zone): over the backbone to the parent region.
        parent = f"region:{world.nodes[dst].parent}"  # type: ignore[attr-defined]
        first = route(world, src, parent, via="backbone")
        second = site_to_region(world, dst, parent).reversed()
        na, nb = world.nodes[src], world.nodes[dst]
        hairpin = PathResult(
            src, dst, first.hops + second.hops, great_circle_km(na.lat, na.lon, nb.lat, nb.lon)
        )
        if b == NodeKind.LOCAL_ZONE:  # Local Zones also have their own internet connection
            try:
                direct = path(world, src, dst, [LinkClass.INTERNET])
            except NoPath:
                return hairpin
            return direct if direct.one_way_ms < hairpin.one_way_ms else hairpin
        return hairpin
    if a in _SITES and b not in _USERS and via != "internet":
        return route(world, dst, src, via=via, access=access).reversed()
    if a in _USERS:
        if b == NodeKind.POP:
            return client_to_pop(world, src, dst, access=access)
        if b == NodeKind.REGION:
            return client_to_region(
                world, src, dst, via="internet" if via == "auto" else via, access=access
            )
        if b == NodeKind.WAVELENGTH_ZONE:
            return client_to_wavelength(world, src, dst)
        if b in (NodeKind.LOCAL_ZONE, NodeKind.OUTPOST):
            return to_site(world, src, dst, access=access)
        return path(world, src, dst, [LinkClass.INTERNET])
    classes = [LinkClass.INTERNET] if via == "internet" else [LinkClass.BACKBONE]
    try:
        return path(world, src, dst, classes)
    except NoPath:
        if via != "auto":
            raise
        return path(world, src, dst, [LinkClass.INTERNET])


_KINDS: dict[str, tuple[NodeKind, str | None]] = {
    "region": (NodeKind.REGION, None),
    "pop": (NodeKind.POP, "edge"),
    "rec": (NodeKind.POP, "regional"),
    "lz": (NodeKind.LOCAL_ZONE, None),
    "client": (NodeKind.CLIENT, None),
}


def rtt_table(
    world: World, row_kind: str, col_kind: str
) -> tuple[list[str], list[str], FloatArray]:
    """Round-trip table between two kinds of site; users over the internet, else the backbone."""
    if row_kind not in _KINDS or col_kind not in _KINDS:
        raise InputError.single(
            f"unknown kind '{row_kind if row_kind not in _KINDS else col_kind}'",
            expected=", ".join(_KINDS),
        )
    rk, rt = _KINDS[row_kind]
    ck, ct = _KINDS[col_kind]
    rows = keys_of(world, rk, tier=rt)
    cols = keys_of(world, ck, tier=ct)
    internet = NodeKind.CLIENT in (rk, ck) or NodeKind.LOCAL_ZONE in (rk, ck)
    cls = LinkClass.INTERNET if internet else LinkClass.BACKBONE
    m = rtt_matrix(world, rows, cols, cls)
    ids = [k.split(":", 1)[1] for k in rows]
    cids = [k.split(":", 1)[1] for k in cols]
    return ids, cids, np.asarray(m)
