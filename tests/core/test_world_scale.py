"""Latency tables for the pairs a run uses, and synthetic worlds of any size (issue 15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.errors import InputError
from edgesim.latency.tables import one_way_matrix
from edgesim.sim.context import SimContext
from edgesim.topology import LinkClass, NodeKind, build_world, load_world
from edgesim.topology.synthetic import (
    MAX_POPS_PER_HUB,
    check_synthetic_args,
    synthetic_topology,
    topology_yaml,
)


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


def test_synthetic_world_round_trips_through_yaml(tmp_path: Path) -> None:
    topo = synthetic_topology(hubs=12, regions=3, pops=10, clients=25, seed=4)
    path = tmp_path / "w.yaml"
    path.write_text(topology_yaml(topo))
    world = load_world(str(path))
    direct = build_world(topo)
    assert sorted(world.nodes) == sorted(direct.nodes)
    keys = sorted(k for k, n in direct.nodes.items() if n.kind != NodeKind.HUB)
    a = one_way_matrix(world, keys, keys, LinkClass.INTERNET)
    b = one_way_matrix(direct, keys, keys, LinkClass.INTERNET)
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"clients": 0, "pops": 10, "regions": 2, "hubs": 5}, "--clients"),
        ({"clients": 5, "pops": MAX_POPS_PER_HUB * 5 + 1, "regions": 2, "hubs": 5}, "--pops"),
        ({"clients": 5, "pops": 10, "regions": 0, "hubs": 5}, "--regions"),
        ({"clients": 5, "pops": 10, "regions": 2, "hubs": 0}, "--hubs"),
    ],
)
def test_synthetic_bad_sizes_refused(kwargs: dict[str, int], field: str) -> None:
    with pytest.raises(InputError) as exc:
        check_synthetic_args(**kwargs)
    assert [p.path for p in exc.value.problems] == [field]


def test_cli_topo_synthetic_writes_a_loadable_world(tmp_path: Path) -> None:
    out = tmp_path / "world.yaml"
    args = ["--clients", "30", "--pops", "12", "--regions", "3", "--hubs", "8", "--seed", "5"]
    result = CliRunner().invoke(main, ["topo", "synthetic", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    world = load_world(str(out))
    assert len(world.client_groups) == 30
    assert len(world.edge_locations) == 12
    assert len(world.regions) == 3
    assert len(world.hubs) == 8


@pytest.mark.parametrize(
    "args",
    [["--clients", "0"], ["--pops", "100", "--hubs", "3"]],
)
def test_cli_topo_synthetic_bad_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "world.yaml"
    result = CliRunner().invoke(main, ["topo", "synthetic", *args, "-o", str(out)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not out.exists()


def test_group_subnets_stay_valid_and_distinct_past_65536_groups() -> None:
    import ipaddress

    from edgesim.services.route53 import group_subnet

    nets = [ipaddress.ip_network(group_subnet(i)) for i in range(65_530, 65_545)]
    assert len(set(nets)) == len(nets)
    assert nets[0] == ipaddress.ip_network("10.255.250.0/24")  # unchanged below 65,536
    assert all(n.version == 6 for n in nets[6:])
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
