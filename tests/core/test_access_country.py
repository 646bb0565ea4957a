"""Access networks by country (edgesim/latency/access_data.py; docs/latency-model.md,
"Access networks by country"): users in a country whose measured access latency exceeds the
world median pay the excess, whatever their access kind."""

from __future__ import annotations

import pytest

from edgesim.latency.access_data import (
    OOKLA_FIGURES,
    WORLD_MEDIAN_FIXED_MS,
    WORLD_MEDIAN_MOBILE_MS,
    country_extra_rtt_ms,
)
from edgesim.latency.params import LatencyParams
from edgesim.latency.query import route
from edgesim.topology import build_world, load_world
from edgesim.topology.loader import load_topology_file
from edgesim.topology.schema import LatencyOverrides


def test_extra_is_the_measured_excess_over_the_world_median() -> None:
    extra = country_extra_rtt_ms()
    # Senegal: best provider 90 ms fixed vs the world's 9 ms median; Cameroon 184 ms mobile vs 28
    assert extra["SN"] == pytest.approx(90 - WORLD_MEDIAN_FIXED_MS)
    assert extra["CM"] == pytest.approx(184 - WORLD_MEDIAN_MOBILE_MS)
    assert extra["NG"] == pytest.approx(3.0)
    assert "GB" not in extra  # no figure: the reference the access profiles stand for
    for cc, (ms, kind, _, _) in OOKLA_FIGURES.items():
        ref = WORLD_MEDIAN_FIXED_MS if kind == "fixed" else WORLD_MEDIAN_MOBILE_MS
        assert extra.get(cc, 0.0) == pytest.approx(max(0.0, ms - ref))


def test_a_fibre_user_in_lagos_and_one_in_london_differ_as_measured() -> None:
    topo, _ = load_topology_file("aws-world")
    flat = build_world(topo, params=LatencyParams(country_extra_rtt_ms={}))
    world = load_world("aws-world")
    for metro, cc in (("lagos", "NG"), ("dakar", "SN"), ("abidjan", "CI")):
        a = route(world, f"client:{metro}", "region:eu-west-1", access="fibre").rtt_ms
        b = route(flat, f"client:{metro}", "region:eu-west-1", access="fibre").rtt_ms
        assert a - b == pytest.approx(country_extra_rtt_ms()[cc])
    a = route(world, "client:london", "region:eu-west-1", access="fibre").rtt_ms
    b = route(flat, "client:london", "region:eu-west-1", access="fibre").rtt_ms
    assert a == pytest.approx(b)


def test_a_world_file_can_override_a_country() -> None:
    topo, _ = load_topology_file("tiny")
    lat = LatencyOverrides(country_extra_rtt_ms={"GB": 7.0})
    world = build_world(topo.model_copy(update={"latency": lat}))
    assert world.params.country_extra_rtt_ms["GB"] == 7.0
    assert world.params.country_extra_rtt_ms["SN"] == country_extra_rtt_ms()["SN"]  # merged
    base = load_world("tiny")
    a = route(world, "client:london", "region:eu-west-2").rtt_ms
    b = route(base, "client:london", "region:eu-west-2").rtt_ms
    assert a - b == pytest.approx(7.0)
