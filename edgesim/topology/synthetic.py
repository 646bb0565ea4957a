"""Synthetic worlds of any size, for property tests and benchmarks (deterministic, no I/O)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import yaml

from edgesim.errors import InputError, Problem
from edgesim.geo import great_circle_matrix_km
from edgesim.latency.params import AccessKind
from edgesim.topology.schema import (
    ClientGroupSpec,
    CorridorSpec,
    EdgeLocationSpec,
    HubSpec,
    RegionSpec,
    TopologyFile,
)

_ACCESS: tuple[AccessKind, ...] = ("fibre", "cable", "dsl", "4g", "5g")


def synthetic_topology(
    *,
    hubs: int = 50,
    regions: int = 10,
    pops: int = 100,
    clients: int = 200,
    seed: int = 0,
    neighbours: int = 3,
) -> TopologyFile:
    """A random but well-formed world: hubs joined to their nearest neighbours (and by a
    minimum spanning tree, so the network is connected), sites scattered near hubs."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-0.85, 0.93, hubs)))
    lon = rng.uniform(-180, 180, hubs)
    hub_specs = [
        HubSpec(id=f"H{i:04d}", lat=round(float(lat[i]), 4), lon=round(float(lon[i]), 4))
        for i in range(hubs)
    ]
    dist = great_circle_matrix_km(lat, lon, lat, lon)
    g = nx.Graph()
    for i in range(hubs):
        g.add_node(i)
        for j in np.argsort(dist[i])[1 : neighbours + 1]:
            g.add_edge(i, int(j), w=float(dist[i, j]))
    full = nx.Graph()
    for i in range(hubs):
        for j in range(i + 1, hubs):
            full.add_edge(i, j, w=float(dist[i, j]))
    g.add_edges_from(nx.minimum_spanning_edges(full, weight="w", data=True))
    corridors = [
        CorridorSpec(
            a=f"H{a:04d}",
            b=f"H{b:04d}",
            kind="terrestrial" if dist[a, b] < 1500 else "submarine",
        )
        for a, b in sorted((min(e), max(e)) for e in g.edges)
    ]

    def near_hub(n: int, spread_deg: float) -> tuple[np.ndarray, np.ndarray]:
        idx = rng.integers(0, hubs, n)
        la = np.clip(lat[idx] + rng.normal(0, spread_deg, n), -89.9, 89.9)
        lo = (lon[idx] + rng.normal(0, spread_deg, n) + 180) % 360 - 180
        return la, lo

    rla, rlo = near_hub(regions, 1.0)
    pla, plo = near_hub(pops, 1.5)
    cla, clo = near_hub(clients, 2.0)
    return TopologyFile(
        edgesim=1,
        name=f"synthetic-{hubs}h-{regions}r-{pops}p-{clients}c-s{seed}",
        hubs=hub_specs,
        corridors=corridors,
        regions=[
            RegionSpec(
                code=f"r-{i}", city=f"R{i}", country="ZZ", lat=float(rla[i]), lon=float(rlo[i])
            )
            for i in range(regions)
        ],
        edge_locations=[
            EdgeLocationSpec(
                id=f"P{i:05d}",
                city=f"P{i}",
                country="ZZ",
                lat=float(pla[i]),
                lon=float(plo[i]),
                tier="regional" if i % 40 == 0 else "edge",
            )
            for i in range(pops)
        ],
        client_groups=[
            ClientGroupSpec(
                id=f"c-{i}",
                metro=f"C{i}",
                country="ZZ",
                lat=float(cla[i]),
                lon=float(clo[i]),
                population=int(rng.integers(100_000, 20_000_000)),
                access=_ACCESS[i % len(_ACCESS)],
            )
            for i in range(clients)
        ],
    )


MAX_POPS_PER_HUB = 32
"""edgesim's choice: a hub (a metro interconnection point) hosts at most this many edge
locations; the busiest CloudFront metros have a few dozen."""


def check_synthetic_args(*, clients: int, pops: int, regions: int, hubs: int) -> None:
    """Refuse sizes the generator cannot turn into a sensible world (:class:`InputError`)."""
    problems: list[Problem] = []
    if hubs < 1:
        problems.append(
            Problem(f"a world needs hubs, got {hubs}", path="--hubs", expected="at least 1 hub")
        )
    if regions < 1:
        problems.append(
            Problem(
                f"a world needs regions, got {regions}",
                path="--regions",
                expected="at least 1 region",
            )
        )
    if clients < 1:
        problems.append(
            Problem(
                f"a world needs client groups, got {clients}",
                path="--clients",
                expected="at least 1 client group",
            )
        )
    if pops < 0:
        problems.append(
            Problem(f"a negative number of PoPs ({pops})", path="--pops", expected="0 or more")
        )
    elif hubs >= 1 and pops > MAX_POPS_PER_HUB * hubs:
        problems.append(
            Problem(
                f"{pops} PoPs do not fit on {hubs} hubs (at most {MAX_POPS_PER_HUB} per hub)",
                path="--pops",
                expected=f"at most {MAX_POPS_PER_HUB * hubs} PoPs, or at least "
                f"{-(-pops // MAX_POPS_PER_HUB)} hubs",
            )
        )
    if problems:
        raise InputError(problems)


def topology_yaml(topo: TopologyFile) -> str:
    """A topology as YAML text that :func:`edgesim.topology.load_world` reads back."""
    data = topo.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    data = {"edgesim": topo.edgesim, **{k: v for k, v in data.items() if k != "edgesim"}}
    header = (
        f"# {topo.name}: a synthetic world written by `edgesim topo synthetic` "
        "(random but well-formed; not AWS's network)\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
