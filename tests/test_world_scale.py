"""Latency tables for the pairs a run uses, and synthetic worlds of any size (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from edgesim.latency.tables import one_way_matrix
from edgesim.sim.context import SimContext
from edgesim.topology import LinkClass, NodeKind, build_world
from edgesim.topology.synthetic import synthetic_topology


@pytest.fixture
def ctx() -> SimContext:
    world = build_world(synthetic_topology(hubs=20, regions=5, pops=30, clients=40, seed=2))
    return SimContext(world, seed=1)


@pytest.mark.parametrize("cls", [LinkClass.INTERNET, LinkClass.BACKBONE])
def test_lazy_table_equals_the_full_matrix(ctx: SimContext, cls: LinkClass) -> None:
    full = one_way_matrix(ctx.world, ctx.node_keys, ctx.node_keys, cls, include_access=False)
    table = ctx.one_way_ms(cls)
    n = len(ctx.node_keys)
    rows = np.arange(n)
    cols = np.array([n - 1, 0, 3, 3])
    assert np.array_equal(table[:, cols], full[:, cols])
    assert np.array_equal(table[np.ix_(rows[::3], cols)], full[np.ix_(rows[::3], cols)])
    assert np.array_equal(table[rows, rows[::-1]], full[rows, rows[::-1]])
    assert table[5, 7] == full[5, 7] or (np.isinf(table[5, 7]) and np.isinf(full[5, 7]))
    assert np.array_equal(table[2, cols], full[2, cols])
    grid = table[rows[:, None, None], cols[None, None, :]]
    assert grid.shape == (n, 1, len(cols))
    assert np.array_equal(grid, full[rows[:, None, None], cols[None, None, :]])


def test_lazy_table_computes_no_client_to_client_pairs(ctx: SimContext) -> None:
    """Reading client × PoP and region × region leaves client groups out as destinations:
    memory grows with clients × sites, not clients²."""
    table = ctx.one_way_ms(LinkClass.INTERNET)
    kinds = [ctx.world.nodes[k].kind for k in ctx.node_keys]
    clients = np.array([i for i, k in enumerate(kinds) if k == NodeKind.CLIENT])
    pops = np.array([i for i, k in enumerate(kinds) if k == NodeKind.POP])
    assert np.isfinite(table[np.ix_(clients, pops)]).all()
    stored = table._n
    assert stored == len(ctx.node_keys) - len(clients)
    table[clients[0], clients[1]]  # asked for: computed then
    assert table._n == stored + 1


def test_lazy_table_follows_the_world_state(ctx: SimContext) -> None:
    table = ctx.one_way_ms(LinkClass.INTERNET)
    pop = next(k for k in ctx.node_keys if ctx.world.nodes[k].kind == NodeKind.POP)
    j = ctx.idx(pop)
    ctx.world.set_node_up(pop, False)
    try:
        after = ctx.one_way_ms(LinkClass.INTERNET)
        assert after is not table
        assert np.isinf(after[:, j]).all()
    finally:
        ctx.world.set_node_up(pop, True)
    assert np.isfinite(ctx.one_way_ms(LinkClass.INTERNET)[0, j])
