"""Properties of the latency model that must hold on any world (hypothesis)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgesim.geo import great_circle_km
from edgesim.latency import path
from edgesim.latency.params import FIBRE_KM_PER_MS
from edgesim.latency.tables import keys_of, one_way_matrix
from edgesim.topology import LinkClass, NodeKind, build_world
from edgesim.topology.schema import ClientGroupSpec, EdgeLocationSpec, RegionSpec
from edgesim.topology.synthetic import synthetic_topology

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(min_value=0, max_value=10_000)


def _world(seed: int):  # type: ignore[no-untyped-def]
    return build_world(synthetic_topology(hubs=25, regions=8, pops=20, clients=15, seed=seed))


@SETTINGS
@given(seeds)
def test_never_faster_than_light_in_fibre(seed: int) -> None:
    w = _world(seed)
    sites = [n for n in w.nodes.values() if n.kind != NodeKind.HUB]
    keys = [n.key for n in sites]
    for cls in (LinkClass.BACKBONE, LinkClass.INTERNET):
        m = 2 * one_way_matrix(w, keys, keys, cls)
        for (i, a), (j, b) in itertools.product(enumerate(sites), repeat=2):
            if i == j or not np.isfinite(m[i, j]):
                continue
            floor_rtt = 2 * great_circle_km(a.lat, a.lon, b.lat, b.lon) / FIBRE_KM_PER_MS
            # ~1 ms RTT per 100 km: the fibre bound, with float tolerance
            assert m[i, j] >= floor_rtt - 1e-9


@SETTINGS
@given(seeds)
def test_symmetric(seed: int) -> None:
    w = _world(seed)
    keys = [n.key for n in w.nodes.values() if n.kind != NodeKind.HUB]
    for cls in (LinkClass.BACKBONE, LinkClass.INTERNET):
        m = one_way_matrix(w, keys, keys, cls)
        assert np.allclose(m, m.T, rtol=1e-12, equal_nan=True)


@SETTINGS
@given(seeds)
def test_backbone_triangle_inequality(seed: int) -> None:
    w = _world(seed)
    keys = keys_of(w, NodeKind.REGION) + keys_of(w, NodeKind.POP)
    m = one_way_matrix(w, keys, keys, LinkClass.BACKBONE)
    # d(a, c) <= d(a, b) + d(b, c) for every b
    via = (m[:, :, None] + m[None, :, :]).min(axis=1)
    assert np.all(m <= via + 1e-9)


@SETTINGS
@given(seeds, st.floats(-60, 70), st.floats(-180, 180))
def test_adding_a_site_changes_no_other_path(seed: int, lat: float, lon: float) -> None:
    topo = synthetic_topology(hubs=25, regions=8, pops=20, clients=15, seed=seed)
    before = build_world(topo)
    bigger = topo.model_copy(
        update={
            "regions": [
                *topo.regions,
                RegionSpec(code="new-1", city="N", country="ZZ", lat=lat, lon=lon),
            ],
            "edge_locations": [
                *topo.edge_locations,
                EdgeLocationSpec(id="NEW01", city="N", country="ZZ", lat=lat, lon=lon),
            ],
            "client_groups": [
                *topo.client_groups,
                ClientGroupSpec(id="new", metro="N", country="ZZ", lat=lat, lon=lon, population=1),
            ],
        }
    )
    after = build_world(bigger)
    keys = [n.key for n in before.nodes.values() if n.kind != NodeKind.HUB]
    for cls in (LinkClass.BACKBONE, LinkClass.INTERNET):
        a = one_way_matrix(before, keys, keys, cls)
        b = one_way_matrix(after, keys, keys, cls)
        assert np.array_equal(a, b)


@SETTINGS
@given(seeds)
def test_path_query_agrees_with_tables(seed: int) -> None:
    w = _world(seed)
    regions = keys_of(w, NodeKind.REGION)
    m = one_way_matrix(w, regions, regions, LinkClass.BACKBONE)
    for i, a in enumerate(regions[:4]):
        for j, b in enumerate(regions[:4]):
            assert path(w, a, b, [LinkClass.BACKBONE]).one_way_ms == pytest.approx(
                m[i, j], abs=1e-9
            )
