"""A summary of a world for ``edgesim topo show`` (no I/O)."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgesim.latency.tables import keys_of, rtt_matrix
from edgesim.topology.model import EdgeLocation, LinkClass, NodeKind, Region, World


def summarise(world: World) -> dict[str, Any]:
    regions = keys_of(world, NodeKind.REGION)
    pops = keys_of(world, NodeKind.POP, tier="edge")
    clients = keys_of(world, NodeKind.CLIENT)
    rows: list[dict[str, Any]] = []
    if regions:
        rr = rtt_matrix(world, regions, regions, LinkClass.BACKBONE)
        rp = rtt_matrix(world, regions, pops, LinkClass.BACKBONE) if pops else None
        for i, key in enumerate(regions):
            node = world.nodes[key]
            assert isinstance(node, Region)
            far = int(np.argmax(np.where(np.isfinite(rr[i]), rr[i], -1)))
            near_pop = int(np.argmin(rp[i])) if rp is not None else None
            rows.append(
                {
                    "code": node.id,
                    "city": node.name,
                    "azs": len(node.azs),
                    "nearest_pop": pops[near_pop].split(":", 1)[1]
                    if near_pop is not None
                    else None,
                    "nearest_pop_rtt_ms": float(rp[i, near_pop])
                    if rp is not None and near_pop is not None
                    else None,
                    "farthest_region": regions[far].split(":", 1)[1] if len(regions) > 1 else None,
                    "farthest_region_rtt_ms": float(rr[i, far]) if len(regions) > 1 else None,
                }
            )
    median_nearest: float | None = None
    if clients and pops:
        cp = rtt_matrix(world, clients, pops, LinkClass.INTERNET)
        median_nearest = float(np.median(cp.min(axis=1)))
    recs = sum(
        1 for n in world.nodes.values() if isinstance(n, EdgeLocation) and n.tier == "regional"
    )
    return {
        "name": world.name,
        "nodes": world.counts(),
        "links": world.link_counts(),
        "regional_edge_caches": recs,
        "regions": rows,
        "client_population": sum(c.population for c in world.client_groups),
        "median_client_nearest_pop_rtt_ms": median_nearest,
    }
