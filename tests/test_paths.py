"""Path queries on the tiny world, checked against hand calculations from the stated constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from geopy.distance import great_circle

from edgesim.latency import (
    NoPath,
    client_to_pop,
    client_to_region,
    client_to_wavelength,
    path,
    pop_to_region,
    region_to_region,
    site_to_region,
    to_site,
)
from edgesim.latency.query import route
from edgesim.latency.tables import one_way_matrix
from edgesim.topology import LinkClass, World

TOKYO = (35.6762, 139.6503)
NRT57 = (35.7720, 140.3929)
IAD_HUB = (38.9445, -77.4558)
SEA_HUB = (47.6062, -122.3321)
TYO_HUB = TOKYO
USE1 = (39.0458, -77.4874)
KM = lambda a, b: great_circle(a, b).km  # noqa: E731 - independent of edgesim.geo


def test_client_to_pop_golden(tiny: World) -> None:
    p = tiny.params
    v = p.fibre_km_per_ms
    hop1 = p.access["fibre"].rtt_ms / 2 + 0.0 + p.internet_hop_one_way_ms  # client sits on TYO
    hop2 = (
        KM(TYO_HUB, NRT57) * p.metro_route_factor / v
        + p.pop_ingress_one_way_ms
        + (p.internet_hop_one_way_ms)
    )
    res = client_to_pop(tiny, "client:tokyo", "pop:NRT57")
    assert res.nodes == ["client:tokyo", "hub:TYO", "pop:NRT57"]
    assert res.one_way_ms == pytest.approx(hop1 + hop2, rel=1e-9)
    assert res.rtt_ms == pytest.approx(2 * (hop1 + hop2), rel=1e-9)
    assert res.hops[0].access_one_way_ms == pytest.approx(p.access["fibre"].rtt_ms / 2)
    assert res.hops[1].access_one_way_ms == 0.0


def test_region_to_region_golden(tiny: World) -> None:
    p = tiny.params
    v = p.fibre_km_per_ms
    expected = (
        KM(USE1, IAD_HUB) * p.terrestrial_route_factor / v
        + p.region_ingress_one_way_ms
        + KM(IAD_HUB, SEA_HUB) * p.terrestrial_route_factor / v
        + p.backbone_hop_one_way_ms
        + KM(SEA_HUB, TYO_HUB) * p.submarine_route_factor / v
        + p.backbone_hop_one_way_ms
        + p.region_ingress_one_way_ms  # region:ap-northeast-1 sits on the TYO hub
    )
    res = region_to_region(tiny, "region:us-east-1", "region:ap-northeast-1")
    assert res.nodes == [
        "region:us-east-1",
        "hub:IAD",
        "hub:SEA",
        "hub:TYO",
        "region:ap-northeast-1",
    ]
    assert res.one_way_ms == pytest.approx(expected, rel=1e-9)
    assert all(h.link_class == "backbone" for h in res.hops)


def test_same_region_is_intra_region_rtt(tiny: World) -> None:
    res = region_to_region(tiny, "region:us-east-1", "region:us-east-1")
    assert res.rtt_ms == pytest.approx(tiny.params.intra_region_rtt_ms)


def test_internet_slower_than_backbone_for_same_corridors(tiny: World) -> None:
    direct = client_to_region(tiny, "client:tokyo", "region:us-east-1", via="internet")
    accel = client_to_region(tiny, "client:tokyo", "region:us-east-1", via="backbone")
    assert accel.hops[0].link_class == "internet"
    assert {h.link_class for h in accel.hops} == {"internet", "backbone"}
    assert accel.rtt_ms < direct.rtt_ms


def test_access_override_changes_only_last_mile(tiny: World) -> None:
    a = client_to_pop(tiny, "client:tokyo", "pop:NRT57")
    b = client_to_pop(tiny, "client:tokyo", "pop:NRT57", access="4g")
    p = tiny.params
    assert b.one_way_ms - a.one_way_ms == pytest.approx(
        (p.access["4g"].rtt_ms - p.access["fibre"].rtt_ms) / 2
    )


def test_wavelength_only_for_the_carriers_subscribers(tiny: World) -> None:
    zone = "wlz:ap-northeast-1-wl1-nrt-wlz-1"
    sub = client_to_wavelength(tiny, "client:tokyo-kddi-5g", zone)
    assert [h.link_class for h in sub.hops] == ["carrier5g"]
    other = client_to_wavelength(tiny, "client:tokyo", zone)
    assert "region:ap-northeast-1" in other.nodes  # through the parent region
    assert "carrier5g" not in {h.link_class for h in other.hops}
    with pytest.raises(NoPath):
        path(tiny, "client:tokyo", zone, [LinkClass.CARRIER_5G])


def test_local_zone_hairpins_through_parent(tiny: World) -> None:
    res = site_to_region(tiny, "lz:us-east-1-nyc-1", "region:eu-west-2")
    assert res.nodes[1] == "region:us-east-1"
    # Internet users reach the Local Zone directly, not through the parent.
    direct = to_site(tiny, "client:new-york", "lz:us-east-1-nyc-1")
    assert "region:us-east-1" not in direct.nodes


def test_outpost_service_link_cut(tiny: World) -> None:
    outpost = "outpost:plant-1"
    assert site_to_region(tiny, outpost, "region:eu-west-2").hops[0].link_class == "service_link"
    tiny.set_link_up(outpost, "region:eu-west-2", LinkClass.SERVICE_LINK, False)
    with pytest.raises(NoPath):
        site_to_region(tiny, outpost, "region:eu-west-2")
    # On-premises users keep working over the LAN.
    local = to_site(tiny, "client:plant-floor", outpost)
    assert [h.link_class for h in local.hops] == ["lan"]
    # Remote users needed the service link.
    with pytest.raises(NoPath):
        to_site(tiny, "client:london", outpost)


def test_degraded_link_adds_delay_and_reroutes(tiny: World) -> None:
    before = region_to_region(tiny, "region:us-east-1", "region:eu-west-2")
    tiny.degrade_link("hub:NYC", "hub:BUD", LinkClass.BACKBONE, extra_one_way_ms=10.0)
    after = region_to_region(tiny, "region:us-east-1", "region:eu-west-2")
    assert after.one_way_ms == pytest.approx(before.one_way_ms + 10.0)
    tiny.degrade_link("hub:NYC", "hub:BUD", LinkClass.BACKBONE)
    assert region_to_region(tiny, "region:us-east-1", "region:eu-west-2").one_way_ms == (
        pytest.approx(before.one_way_ms)
    )


def test_cut_corridor_leaves_no_path(tiny: World) -> None:
    tiny.set_link_up("hub:NYC", "hub:BUD", LinkClass.BACKBONE, False)
    with pytest.raises(NoPath):
        region_to_region(tiny, "region:us-east-1", "region:eu-west-2")
    m = one_way_matrix(tiny, ["region:us-east-1"], ["region:eu-west-2"], LinkClass.BACKBONE)
    assert math.isinf(m[0, 0])


def test_down_node_is_not_transit(tiny: World) -> None:
    tiny.set_node_up("hub:SEA", False)
    with pytest.raises(NoPath):
        region_to_region(tiny, "region:us-east-1", "region:ap-northeast-1")
    tiny.set_node_up("hub:SEA", True)
    assert region_to_region(tiny, "region:us-east-1", "region:ap-northeast-1").rtt_ms > 0


@pytest.mark.parametrize("cls", [LinkClass.INTERNET, LinkClass.BACKBONE])
def test_tables_equal_path_queries(tiny: World, cls: LinkClass) -> None:
    keys = [n.key for n in tiny.nodes.values() if n.kind != "hub"]
    m = one_way_matrix(tiny, keys, keys, cls)
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            try:
                expected = path(tiny, a, b, [cls]).one_way_ms
            except NoPath:
                expected = math.inf
            assert m[i, j] == pytest.approx(expected, rel=1e-12), (a, b)


def test_reverse_route_is_symmetric(tiny: World) -> None:
    fwd = route(tiny, "client:london", "region:ap-northeast-1")
    back = route(tiny, "region:ap-northeast-1", "client:london")
    assert back.rtt_ms == pytest.approx(fwd.rtt_ms)
    assert back.nodes == list(reversed(fwd.nodes))


def test_pop_to_region_uses_backbone(tiny: World) -> None:
    res = pop_to_region(tiny, "pop:NRT57", "region:us-east-1")
    assert {h.link_class for h in res.hops} == {"backbone"}
    assert res.loss > 0
    assert np.isfinite(res.rtt_ms)


def test_resolve_names(tiny: World) -> None:
    assert tiny.resolve("us-east-1") == "region:us-east-1"
    assert tiny.resolve("NRT57") == "pop:NRT57"
    assert tiny.resolve("nrt57") == "pop:NRT57"
    assert tiny.resolve("region:eu-west-2") == "region:eu-west-2"
    assert tiny.resolve("edge:LHR50") == "pop:LHR50"
    assert tiny.resolve("tokyo") == "client:tokyo"


def test_transit_only_cable_carries_users_but_not_the_backbone() -> None:
    from edgesim.topology import load_world

    w = load_world("atlantic")
    assert not w.graph.has_edge("hub:FOR", "hub:LIS", "backbone")
    assert w.graph.has_edge("hub:FOR", "hub:LIS", "internet")
    bb = region_to_region(w, "region:sa-east-1", "region:eu-west-2")
    assert "hub:MIA" in bb.nodes  # through the US
    assert "hub:LIS" not in bb.nodes
    users = client_to_region(w, "client:fortaleza", "region:eu-west-2")
    assert "hub:LIS" in users.nodes  # straight across on EllaLink
