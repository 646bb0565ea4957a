"""Global Accelerator's I/O-free model: the spec's routing rules, hashing and input checks
(docs/edge-services.md §Global Accelerator; the module docstring of
edgesim.services.accelerator.model states the rules)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from edgesim.services.accelerator import model as ga

STEP = 1.0 / ga.BUCKETS  # the tables' resolution


def shares(tables: ga.RoutingTables, edge: int, what: str = "group") -> dict[int, float]:
    """Share of the hash space each group (or mode) gets at an edge."""
    arr = tables.group[edge] if what == "group" else tables.mode[edge]
    vals, counts = np.unique(arr, return_counts=True)
    return {int(v): c / ga.BUCKETS for v, c in zip(vals, counts, strict=True)}


def one_each(n: int, weight: int = 128) -> tuple[list[list[int]], list[list[bool]]]:
    return [[weight] for _ in range(n)], [[True] for _ in range(n)]


# ---- traffic dials -------------------------------------------------------------------------


def test_full_dials_send_everything_to_the_nearest_group() -> None:
    w, h = one_each(3)
    t = ga.build_tables([[5.0, 1.0, 9.0], [1.0, 5.0, 9.0]], [100, 100, 100], w, h)
    assert shares(t, 0) == {1: 1.0}
    assert shares(t, 1) == {0: 1.0}


def test_dial_applies_to_directed_traffic_and_the_rest_spills_to_the_next_nearest() -> None:
    # Nearest group at 30 %: 30 % stays, 70 % spills to the next-nearest (dial 100).
    w, h = one_each(3)
    t = ga.build_tables([[1.0, 2.0, 3.0]], [30, 100, 100], w, h)
    s = shares(t, 0)
    assert s[0] == pytest.approx(0.30, abs=STEP)
    assert s[1] == pytest.approx(0.70, abs=STEP)
    assert 2 not in s


def test_spilled_traffic_meets_the_next_groups_dial_too() -> None:
    # 50 % stays in the nearest; of the 50 % that spills, the second keeps half (its dial);
    # the rest goes on to the third.
    w, h = one_each(3)
    t = ga.build_tables([[1.0, 2.0, 3.0]], [50, 50, 100], w, h)
    s = shares(t, 0)
    assert s[0] == pytest.approx(0.50, abs=STEP)
    assert s[1] == pytest.approx(0.25, abs=STEP)
    assert s[2] == pytest.approx(0.25, abs=STEP)


def test_two_regions_at_fifty_percent_split_each_coast_in_half() -> None:
    # The GA guide's example: us-east-1 and us-west-2 at 50 %, users on both coasts: half of
    # each coast's requests are served nearby, half by the opposite Region.
    w, h = one_each(2)
    east_edge, west_edge = [1.0, 60.0], [60.0, 1.0]
    t = ga.build_tables([east_edge, west_edge], [50, 50], w, h)
    for e in (0, 1):
        s = shares(t, e)
        assert s[0] == pytest.approx(0.5, abs=STEP)
        assert s[1] == pytest.approx(0.5, abs=STEP)


def test_dial_zero_gets_no_traffic_while_others_are_healthy() -> None:
    w, h = one_each(3)
    t = ga.build_tables([[1.0, 2.0, 3.0]], [0, 100, 100], w, h)
    assert shares(t, 0) == {1: 1.0}


def test_all_dials_zero_keep_traffic_in_the_nearest_group() -> None:
    w, h = one_each(2)
    t = ga.build_tables([[4.0, 1.0]], [0, 0], w, h)
    assert shares(t, 0) == {1: 1.0}


# ---- endpoint weights ------------------------------------------------------------------------


def test_weights_share_traffic_in_proportion_over_many_flows() -> None:
    weights = [[64, 128, 255, 0]]
    t = ga.build_tables([[1.0]], [100], weights, [[True] * 4])
    rng = np.random.default_rng(1)
    n = 200_000
    h = ga.flow_hash_5tuple(
        rng.integers(0, 1 << 32, n),
        rng.integers(1024, 65536, n),
        0xC6120001,
        443,
        6,
    )
    _, ep, mode = t.lookup(np.zeros(n, dtype=np.int64), h)
    assert (mode == ga.NORMAL).all()
    total = 64 + 128 + 255
    for i, w in enumerate(weights[0]):
        assert (ep == i).mean() == pytest.approx(w / total, abs=0.006)


def test_weight_zero_is_never_chosen_while_a_weighted_endpoint_is_healthy() -> None:
    t = ga.build_tables([[1.0]], [100], [[0, 10, 0]], [[True, True, True]])
    assert set(np.unique(t.endpoint[0]).tolist()) == {1}


def test_unhealthy_endpoints_are_skipped_and_weights_renormalise() -> None:
    t = ga.build_tables([[1.0]], [100], [[100, 100, 200]], [[True, False, True]])
    got = np.bincount(t.endpoint[0], minlength=3) / ga.BUCKETS
    assert got[1] == 0
    assert got[0] == pytest.approx(1 / 3, abs=STEP)
    assert got[2] == pytest.approx(2 / 3, abs=STEP)


def test_group_whose_only_healthy_endpoint_has_weight_zero_fails_over() -> None:
    # The guide's example: two endpoints, the healthy one set to weight 0 → another group.
    t = ga.build_tables([[1.0, 2.0]], [100, 100], [[0, 100], [128]], [[True, False], [True]])
    assert shares(t, 0) == {1: 1.0}
    assert shares(t, 0, "mode") == {ga.FAILOVER: 1.0}


# ---- client affinity ---------------------------------------------------------------------------


def test_source_ip_affinity_keeps_a_client_on_one_group_and_endpoint() -> None:
    t = ga.build_tables([[1.0, 2.0]], [50, 100], [[1, 1, 1], [1, 1]], [[True] * 3, [True] * 2])
    rng = np.random.default_rng(2)
    for client in rng.integers(0, 1 << 32, 20).tolist():
        h = ga.flow_hash_source(np.full(500, client), 0xC6120001)  # 500 connections
        g, ep, _ = t.lookup(np.zeros(500, dtype=np.int64), h)
        assert len(set(zip(g.tolist(), ep.tolist(), strict=True))) == 1


def test_source_ip_affinity_ignores_ports_but_not_the_client() -> None:
    src = np.full(4, 0x0A000005)
    ports = np.array([1024, 2000, 40000, 65535])
    a = ga.flow_hash_source(src, 0xC6120001)
    assert len(set(a.tolist())) == 1
    b = ga.flow_hash_source(np.arange(1000) + 0x0A000000, 0xC6120001)
    assert len(set(b.tolist())) == 1000
    c = ga.flow_hash_5tuple(src, ports, 0xC6120001, 443, 6)
    assert len(set(c.tolist())) == 4


def test_affinity_none_spreads_one_clients_flows_over_groups_and_endpoints() -> None:
    t = ga.build_tables([[1.0, 2.0]], [50, 100], [[1, 1, 1], [1, 1]], [[True] * 3, [True] * 2])
    n = 20_000
    ports = np.arange(n) % 64512 + 1024
    h = ga.flow_hash_5tuple(np.full(n, 0x0A000005), ports, 0xC6120001, 443, 6)
    g, ep, _ = t.lookup(np.zeros(n, dtype=np.int64), h)
    assert (g == 0).mean() == pytest.approx(0.5, abs=0.02)
    for i in range(3):
        assert ((g == 0) & (ep == i)).mean() == pytest.approx(0.5 / 3, abs=0.02)


@pytest.mark.slow
def test_flow_hash_is_stable_across_processes_and_hash_seeds() -> None:
    code = (
        "from edgesim.services.accelerator.model import flow_hash_5tuple, flow_hash_source;"
        "print(int(flow_hash_5tuple(167772165, 5555, 3323068417, 443, 6)[0]),"
        "int(flow_hash_source(167772165, 3323068417)[0]))"
    )
    outs = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outs.add(res.stdout.strip())
    here = f"{int(ga.flow_hash_5tuple(167772165, 5555, 3323068417, 443, 6)[0])} " + str(
        int(ga.flow_hash_source(167772165, 3323068417)[0])
    )
    assert outs == {here}


# ---- failover and fail-open -------------------------------------------------------------------


def test_failover_goes_to_the_closest_healthy_group_ignoring_its_dial() -> None:
    w, _ = one_each(5)
    healthy = [[False], [True], [True], [True], [True]]
    t = ga.build_tables([[1.0, 2.0, 3.0, 4.0, 5.0]], [100, 0, 0, 0, 100], w, healthy)
    assert shares(t, 0) == {1: 1.0}  # dial 0, but failover ignores dials
    assert shares(t, 0, "mode") == {ga.FAILOVER: 1.0}


def test_failover_skips_unhealthy_groups_among_the_three_closest() -> None:
    w, _ = one_each(4)
    healthy = [[False], [False], [True], [True]]
    t = ga.build_tables([[1.0, 2.0, 3.0, 4.0]], [100, 100, 100, 100], w, healthy)
    assert shares(t, 0) == {2: 1.0}


def test_only_the_three_closest_other_groups_are_tried_then_it_fails_open() -> None:
    # Nearest four groups all down, a fifth healthy: GA gives up after three and fails open
    # in the group nearest the client.
    w = [[128, 128]] + [[128] for _ in range(4)]
    healthy = [[False, False], [False], [False], [False], [True]]
    t = ga.build_tables([[1.0, 2.0, 3.0, 4.0, 5.0]], [100] * 5, w, healthy)
    assert shares(t, 0) == {0: 1.0}
    assert shares(t, 0, "mode") == {ga.FAIL_OPEN: 1.0}


def test_fail_open_picks_uniformly_among_all_endpoints_of_the_nearest_group() -> None:
    # Nothing healthy anywhere; dials point at the far group, but fail-open uses the
    # nearest group, weights (even 0) ignored.
    w = [[0, 50, 200, 5], [128]]
    healthy = [[False] * 4, [False]]
    t = ga.build_tables([[1.0, 2.0]], [0, 100], w, healthy)
    assert shares(t, 0) == {0: 1.0}
    got = np.bincount(t.fail_open[0], minlength=4) / ga.BUCKETS
    assert got == pytest.approx([0.25] * 4, abs=STEP)
    assert t.directed[0].tolist() == [1] * ga.BUCKETS


def test_weight_zero_is_chosen_only_when_failing_open() -> None:
    one = ga.decide([1.0], [100], [[0, 1]], [[True, True]], 0.5, 0.01)
    assert one.endpoint == 1
    assert one.mode == "normal"
    opened = ga.decide([1.0], [100], [[0, 1]], [[False, False]], 0.5, 0.01)
    assert opened.endpoint == 0
    assert opened.mode == "fail-open"


def test_tables_match_the_reference_decision_bucket_by_bucket() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        n_groups = int(rng.integers(1, 7))
        n_edges = 3
        dist = rng.uniform(1, 100, (n_edges, n_groups))
        dials = [float(rng.choice([0, 12.5, 50, 99.9, 100])) for _ in range(n_groups)]
        weights = [rng.integers(0, 4, int(rng.integers(1, 4))).tolist() for _ in range(n_groups)]
        healthy = [[bool(rng.random() < 0.6) for _ in ws] for ws in weights]
        t = ga.build_tables(dist, dials, weights, healthy)
        for e in range(n_edges):
            for b in rng.integers(0, ga.BUCKETS, 64).tolist():
                be = int(rng.integers(0, ga.BUCKETS))
                u_g, u_e = ga.bucket_uniform([b, be]).tolist()
                d = ga.decide(dist[e].tolist(), dials, weights, healthy, u_g, u_e)
                h = np.array([(be << 32) | b], dtype=np.uint64)
                g, ep, mode = t.lookup(np.array([e]), h)
                assert (int(g[0]), int(ep[0]), ga.MODES[int(mode[0])], int(t.directed[e, b])) == (
                    d.group,
                    d.endpoint,
                    d.mode,
                    d.directed,
                )


# ---- addresses and input checks ------------------------------------------------------------------


def test_static_addresses_come_from_the_benchmarking_pools() -> None:
    assert ga.static_addresses(1) == ("198.18.0.1", "198.19.0.1")
    assert ga.static_addresses(300) == ("198.18.1.44", "198.19.1.44")
    with pytest.raises(ValueError, match="outside 1–65534"):
        ga.static_addresses(0)


def good() -> ga.Accelerator:
    return ga.Accelerator(
        "api",
        ("198.18.0.1", "198.19.0.1"),
        (
            ga.Listener(
                "TCP",
                (ga.PortRange(443, 443),),
                "NONE",
                (
                    ga.EndpointGroup("us-east-1", (ga.Endpoint("a", "us-east-1"),)),
                    ga.EndpointGroup("eu-west-1", (ga.Endpoint("b", "eu-west-1"),)),
                ),
            ),
        ),
    )


def with_listener(acc: ga.Accelerator, **changes: object) -> ga.Accelerator:
    from dataclasses import replace

    return replace(acc, listeners=(replace(acc.listeners[0], **changes),))


def test_a_good_accelerator_has_no_problems() -> None:
    assert ga.validate(good()) == []


def test_dial_above_100_is_refused() -> None:
    from dataclasses import replace

    acc = good()
    groups = (replace(acc.listeners[0].groups[0], traffic_dial=101.0), acc.listeners[0].groups[1])
    problems = ga.validate(with_listener(acc, groups=groups))
    assert problems == [
        (
            "listeners[0].endpoint_groups[0].traffic_dial",
            "traffic dial 101 is outside 0–100 (a percentage)",
        )
    ]


def test_weight_256_is_refused() -> None:
    from dataclasses import replace

    acc = good()
    g0 = acc.listeners[0].groups[0]
    groups = (
        replace(g0, endpoints=(ga.Endpoint("a", "us-east-1", 256),)),
        acc.listeners[0].groups[1],
    )
    ((path, msg),) = ga.validate(with_listener(acc, groups=groups))
    assert path == "listeners[0].endpoint_groups[0].endpoints[0].weight"
    assert "outside 0–255" in msg


def test_endpoint_in_a_region_without_a_group_is_refused() -> None:
    from dataclasses import replace

    acc = good()
    g0 = acc.listeners[0].groups[0]
    groups = (
        replace(g0, endpoints=(ga.Endpoint("a", "us-east-1"), ga.Endpoint("c", "ap-south-1"))),
        acc.listeners[0].groups[1],
    )
    ((path, msg),) = ga.validate(with_listener(acc, groups=groups))
    assert path == "listeners[0].endpoint_groups[0].endpoints[1].endpoint"
    assert "ap-south-1" in msg
    assert "no endpoint group for ap-south-1" in msg


def test_duplicate_group_for_a_region_is_refused() -> None:
    acc = good()
    groups = (
        *acc.listeners[0].groups,
        ga.EndpointGroup("us-east-1", (ga.Endpoint("x", "us-east-1"),)),
    )
    ((path, msg),) = ga.validate(with_listener(acc, groups=groups))
    assert path == "listeners[0].endpoint_groups[2].region"
    assert "at most one endpoint group per Region" in msg


@pytest.mark.parametrize(
    ("ranges", "fragment"),
    [
        ((ga.PortRange(9000, 8000),), "ends before it starts"),
        ((ga.PortRange(0, 80),), "outside 1–65535"),
        ((ga.PortRange(80, 70000),), "outside 1–65535"),
        ((ga.PortRange(80, 443), ga.PortRange(443, 443)), "overlap"),
        ((), "at least one port range"),
    ],
)
def test_bad_port_ranges_are_refused(ranges: tuple[ga.PortRange, ...], fragment: str) -> None:
    problems = ga.validate(with_listener(good(), port_ranges=ranges))
    assert len(problems) == 1
    assert fragment in problems[0][1]


def test_overlapping_listeners_of_one_protocol_are_refused_but_tcp_and_udp_may_share() -> None:
    acc = good()
    second = ga.Listener("TCP", (ga.PortRange(400, 500),), "NONE", acc.listeners[0].groups)
    from dataclasses import replace

    problems = ga.validate(replace(acc, listeners=(acc.listeners[0], second)))
    assert [p for p, _ in problems] == ["listeners[1].port_ranges[0]"]
    assert "overlap 443 of listeners[0]" in problems[0][1]
    udp = ga.Listener("UDP", (ga.PortRange(400, 500),), "NONE", acc.listeners[0].groups)
    assert ga.validate(replace(acc, listeners=(acc.listeners[0], udp))) == []


def test_health_check_limits_are_checked() -> None:
    from dataclasses import replace

    acc = good()
    g0 = replace(acc.listeners[0].groups[0], health_check=ga.HealthCheck(20, 11))
    problems = ga.validate(with_listener(acc, groups=(g0, acc.listeners[0].groups[1])))
    assert sorted(p for p, _ in problems) == [
        "listeners[0].endpoint_groups[0].health_check.interval",
        "listeners[0].endpoint_groups[0].health_check.threshold",
    ]
