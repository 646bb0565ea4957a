"""Latency tables for many pairs at once (numpy), equal to :func:`edgesim.latency.paths.path`.

Because sites never carry transit, the lowest-latency path between two sites is
``min over (i, j) of attach_src[i] + hub_distance[i, j] + attach_dst[j]``; the hub-to-hub table
is computed once per link class and world state (a few hundred hubs), and every site-to-site
table is a handful of vectorised minimums. This is what the scenario engine's hot path reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import numpy.typing as npt

from edgesim.topology.model import ClientGroup, LinkClass, NodeKind, World

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def hub_index(world: World) -> dict[str, int]:
    key = ("hub_index", world.version)
    cached = world.cache.get(key)
    if cached is None:
        cached = {h.key: i for i, h in enumerate(world.hubs)}
        world.cache[key] = cached
    out: dict[str, int] = cached
    return out


def hub_distances(world: World, cls: LinkClass | str) -> FloatArray:
    """One-way ms between every pair of hubs over links of class ``cls`` (inf if cut off)."""
    key = ("hub_dist", str(cls), world.version)
    cached = world.cache.get(key)
    if cached is not None:
        out: FloatArray = cached
        return out
    idx = hub_index(world)
    n = len(idx)
    hg = nx.Graph()
    hg.add_nodes_from(range(n))
    c = str(cls)
    for u, v, k, a in world.graph.edges(keys=True, data=True):
        if k != c or not a["up"] or u not in idx or v not in idx:
            continue
        if u in world.down_nodes or v in world.down_nodes:
            continue
        iu, iv = idx[u], idx[v]
        w = float(a["w"])
        if not hg.has_edge(iu, iv) or hg[iu][iv]["w"] > w:
            hg.add_edge(iu, iv, w=w)
    dist = np.full((n, n), np.inf)
    for src, lengths in nx.all_pairs_dijkstra_path_length(hg, weight="w"):
        cols = np.fromiter(lengths.keys(), dtype=np.intp, count=len(lengths))
        dist[src, cols] = np.fromiter(lengths.values(), dtype=np.float64, count=len(lengths))
    world.cache = {k: v for k, v in world.cache.items() if k[-1] == world.version}
    world.cache[key] = dist
    return dist


def attachments(
    world: World, keys: Sequence[str], cls: LinkClass | str
) -> tuple[IntArray, FloatArray]:
    """For each site, the hubs it reaches directly over ``cls`` and the one-way ms to each.

    Returns ``(hub_idx, cost)`` of shape (len(keys), k), padded with cost = inf. A hub given as
    a site reaches itself at cost 0.
    """
    idx = hub_index(world)
    c = str(cls)
    rows: list[list[tuple[int, float]]] = []
    for key in keys:
        if key in world.down_nodes:
            rows.append([])
            continue
        if key in idx:
            rows.append([(idx[key], 0.0)])
            continue
        row = []
        for nbr, edges in world.graph[key].items():
            a = edges.get(c)
            if a is None or not a["up"] or nbr not in idx or nbr in world.down_nodes:
                continue
            row.append((idx[nbr], float(a["w"])))
        rows.append(row)
    k = max((len(r) for r in rows), default=1) or 1
    hub = np.zeros((len(keys), k), dtype=np.intp)
    cost = np.full((len(keys), k), np.inf)
    for i, row in enumerate(rows):
        for j, (h, w) in enumerate(row):
            hub[i, j] = h
            cost[i, j] = w
    return hub, cost


def access_one_way(world: World, keys: Sequence[str]) -> FloatArray:
    """Last-mile one-way ms of each site (users' access network; 0 for AWS sites)."""
    out = np.zeros(len(keys))
    for i, key in enumerate(keys):
        node = world.nodes[key]
        if isinstance(node, ClientGroup):
            out[i] = world.params.access_profile(node.access).rtt_ms / 2
    return out


def one_way_matrix(
    world: World,
    srcs: Sequence[str],
    dsts: Sequence[str],
    cls: LinkClass | str,
    *,
    include_access: bool = True,
) -> FloatArray:
    """One-way ms from every ``srcs`` site to every ``dsts`` site over ``cls`` links.

    Equal to ``path(world, s, d, [cls]).one_way_ms`` for each pair (inf where there is none).
    """
    dist = hub_distances(world, cls)
    sh, sc = attachments(world, srcs, cls)
    dh, dc = attachments(world, dsts, cls)
    best = np.full((len(srcs), len(dsts)), np.inf)
    for i in range(sh.shape[1]):
        for j in range(dh.shape[1]):
            cand = sc[:, i, None] + dist[np.ix_(sh[:, i], dh[:, j])] + dc[None, :, j]
            np.minimum(best, cand, out=best)
    # Direct links between two sites (a Local Zone and its parent region, LAN, carrier 5G).
    pos = {k: j for j, k in enumerate(dsts)}
    c = str(cls)
    for i, key in enumerate(srcs):
        if key in world.down_nodes:
            continue
        for nbr, edges in world.graph[key].items():
            jn = pos.get(nbr)
            a = edges.get(c)
            if jn is None or a is None or not a["up"] or nbr in world.down_nodes:
                continue
            best[i, jn] = min(best[i, jn], float(a["w"]))
    if include_access:
        best += access_one_way(world, srcs)[:, None]
        best += access_one_way(world, dsts)[None, :]
    # A site to itself.
    half_intra = world.params.intra_region_rtt_ms / 2
    for i, key in enumerate(srcs):
        jself = pos.get(key)
        if jself is not None and key not in world.down_nodes:
            best[i, jself] = half_intra if world.nodes[key].kind == NodeKind.REGION else 0.0
    return best


def rtt_matrix(
    world: World, srcs: Sequence[str], dsts: Sequence[str], cls: LinkClass | str
) -> FloatArray:
    """Round-trip ms (twice the one-way table: links are symmetric)."""
    out: FloatArray = 2.0 * one_way_matrix(world, srcs, dsts, cls)
    return out


def keys_of(world: World, kind: NodeKind, *, tier: str | None = None) -> list[str]:
    out = []
    for n in world.nodes.values():
        if n.kind != kind:
            continue
        if tier is not None and getattr(n, "tier", None) != tier:
            continue
        out.append(n.key)
    return out
