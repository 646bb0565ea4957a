"""Route 53 routing policies: every truth table and worked example of docs/route53.md, plus
properties.

Spec: docs/route53.md (sections cited per test).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgesim.route53 import (
    MULTIVALUE_MAX,
    CidrCollection,
    Query,
    Record,
    biased_distance_km,
    choose,
    validate_record_set,
)

Q = Query()


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def outcomes(
    records: Sequence[Record],
    healthy: Sequence[bool],
    query: Query = Q,
    n: int = 300,
    collection: CidrCollection | None = None,
) -> set[int]:
    """Every record index returned over ``n`` seeded draws (single-answer policies)."""
    g = rng(1)
    seen: set[int] = set()
    for _ in range(n):
        ans = choose(records, healthy, query, g, collection)
        assert not ans.nodata
        seen.update(ans.indices)
    return seen


def weighted(*weights: int) -> list[Record]:
    return [
        Record(policy="weighted", set_id=f"rec{i + 1}", weight=w, values=(f"10.0.0.{i + 1}",))
        for i, w in enumerate(weights)
    ]


# --- §Weighted truth table: weights 1,1,0, all three with checks ------------------------------

WEIGHTED_TABLE = [
    ("UUH_only_rec3", (False, False, True), {2}),
    ("UUU_rec1_or_rec2_failopen_to_nonzero", (False, False, False), {0, 1}),
    ("UHU_rec2", (False, True, False), {1}),
    ("HHU_rec1_or_rec2", (True, True, False), {0, 1}),
    ("HHH_rec1_or_rec2", (True, True, True), {0, 1}),
]


@pytest.mark.parametrize(
    ("health", "expected"),
    [(h, e) for _, h, e in WEIGHTED_TABLE],
    ids=[name for name, _, _ in WEIGHTED_TABLE],
)
def test_weighted_truth_table_all_checked(health: tuple[bool, ...], expected: set[int]) -> None:
    assert outcomes(weighted(1, 1, 0), health) == expected


# Same weights, rec3 WITHOUT a check: the caller passes True for rec3 (always healthy).
WEIGHTED_TABLE_REC3_UNCHECKED = [
    ("HH_rec1_or_rec2", (True, True), {0, 1}),
    ("UU_rec3_only", (False, False), {2}),
    ("UH_rec2", (False, True), {1}),
]


@pytest.mark.parametrize(
    ("health", "expected"),
    [(h, e) for _, h, e in WEIGHTED_TABLE_REC3_UNCHECKED],
    ids=[name for name, _, _ in WEIGHTED_TABLE_REC3_UNCHECKED],
)
def test_weighted_truth_table_rec3_without_check(
    health: tuple[bool, bool], expected: set[int]
) -> None:
    assert outcomes(weighted(1, 1, 0), (*health, True)) == expected


def test_weighted_weight0_never_returned_when_nonzero_exists() -> None:
    assert outcomes(weighted(3, 0, 1), (True, True, True)) == {0, 2}


def test_weighted_all_zero_equal_probability() -> None:
    g = rng(7)
    recs = weighted(0, 0, 0, 0)
    counts = Counter(choose(recs, [True] * 4, Q, g).indices[0] for _ in range(8000))
    assert set(counts) == {0, 1, 2, 3}
    assert all(abs(c / 8000 - 0.25) < 0.02 for c in counts.values())


def test_weighted_all_zero_health_then_failopen() -> None:
    assert outcomes(weighted(0, 0, 0), (False, True, False)) == {1}
    assert outcomes(weighted(0, 0, 0), (False, False, False)) == {0, 1, 2}


def test_weighted_share_is_weight_over_sum() -> None:
    g = rng(3)
    recs = weighted(1, 3)
    counts = Counter(choose(recs, [True, True], Q, g).indices[0] for _ in range(20000))
    assert abs(counts[1] / 20000 - 0.75) < 0.015


# --- §Simple --------------------------------------------------------------------------------


def test_simple_returns_all_values_in_random_order() -> None:
    rec = Record(policy="simple", values=("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"))
    g = rng(0)
    orders = set()
    for _ in range(50):
        ans = choose([rec], [False], Q, g)  # health is not consulted by simple
        assert ans.indices == [0]
        assert sorted(ans.values) == sorted(rec.values)
        orders.add(ans.values)
    assert len(orders) > 1


# --- §Latency -------------------------------------------------------------------------------

LAT_RECS = [
    Record(policy="latency", set_id="use1", region="us-east-1"),
    Record(policy="latency", set_id="euw1", region="eu-west-1"),
    Record(policy="latency", set_id="apne1", region="ap-northeast-1"),
]
LAT_Q = Query(
    latency_ms={"us-east-1": 80.0, "eu-west-1": 12.0, "ap-northeast-1": 220.0, "sa-east-1": 1.0}
)


def test_latency_lowest_region_wins_regions_without_record_ignored() -> None:
    assert choose(LAT_RECS, [True] * 3, LAT_Q, rng()).indices == [1]


def test_latency_unhealthy_goes_to_next_best() -> None:
    assert choose(LAT_RECS, [True, False, True], LAT_Q, rng()).indices == [0]
    assert choose(LAT_RECS, [False, False, True], LAT_Q, rng()).indices == [2]


def test_latency_all_unhealthy_fails_open_to_lowest() -> None:
    assert choose(LAT_RECS, [False] * 3, LAT_Q, rng()).indices == [1]


def test_latency_drifting_measurements_change_answer() -> None:
    q = Query(latency_ms={"us-east-1": 5.0, "eu-west-1": 12.0, "ap-northeast-1": 220.0})
    assert choose(LAT_RECS, [True] * 3, q, rng()).indices == [0]


# --- §Failover ------------------------------------------------------------------------------

FO = [
    Record(policy="failover", set_id="p", failover="primary", has_health_check=True),
    Record(policy="failover", set_id="s", failover="secondary", has_health_check=True),
]


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        ((True, True), [0]),
        ((True, False), [0]),
        ((False, True), [1]),
        ((False, False), [0]),
    ],
    ids=[
        "primary_healthy_returns_only_primary",
        "primary_healthy_secondary_unhealthy",
        "primary_unhealthy_secondary_healthy_returns_secondary",
        "both_unhealthy_returns_primary",
    ],
)
def test_failover_table(health: tuple[bool, bool], expected: list[int]) -> None:
    assert choose(FO, health, Q, rng()).indices == expected


def test_failover_secondary_without_check_returned_when_primary_unhealthy() -> None:
    recs = [FO[0], Record(policy="failover", set_id="s", failover="secondary")]
    # No check on the secondary: the caller passes True ("even if the secondary is unhealthy").
    assert choose(recs, [False, True], Q, rng()).indices == [1]


def test_failover_order_independent() -> None:
    # Reversed list: index 0 = secondary (healthy), index 1 = primary (unhealthy).
    assert choose(FO[::-1], [True, False], Q, rng()).indices == [0]
    assert choose(FO[::-1], [False, False], Q, rng()).indices == [1]


# --- §Geolocation ---------------------------------------------------------------------------

GEO = [
    Record(policy="geolocation", set_id="wa", country="US", subdivision="WA"),
    Record(policy="geolocation", set_id="us", country="US"),
    Record(policy="geolocation", set_id="na", continent="NA"),
    Record(policy="geolocation", set_id="default", country="*"),
    Record(policy="geolocation", set_id="de", country="DE"),
]
SEATTLE = Query(continent="NA", country="US", subdivision="WA")


def test_geolocation_smallest_region_wins() -> None:
    assert choose(GEO, [True] * 5, SEATTLE, rng()).indices == [0]
    texas = Query(continent="NA", country="US", subdivision="TX")
    assert choose(GEO, [True] * 5, texas, rng()).indices == [1]
    assert choose(GEO, [True] * 5, Query(continent="NA", country="CA"), rng()).indices == [2]
    assert choose(GEO, [True] * 5, Query(continent="EU", country="DE"), rng()).indices == [4]


def test_geolocation_default_catches_unmapped_and_unlisted() -> None:
    assert choose(GEO, [True] * 5, Query(), rng()).indices == [3]  # unmapped IP
    assert choose(GEO, [True] * 5, Query(continent="AS", country="JP"), rng()).indices == [3]


def test_geolocation_no_default_no_match_is_nodata() -> None:
    recs = [r for r in GEO if r.set_id != "default"]
    ans = choose(recs, [True] * 4, Query(continent="AS", country="JP"), rng())
    assert ans.nodata
    assert ans.indices == []


def test_geolocation_unhealthy_goes_up_hierarchy() -> None:
    # §Geolocation, edgesim's choice: state -> country -> continent -> default.
    assert choose(GEO, [False, True, True, True, True], SEATTLE, rng()).indices == [1]
    assert choose(GEO, [False, False, True, True, True], SEATTLE, rng()).indices == [2]
    assert choose(GEO, [False, False, False, True, True], SEATTLE, rng()).indices == [3]


def test_geolocation_phz_unhealthy_region_returns_healthy_default() -> None:
    recs = [GEO[4], GEO[3]]  # DE, default
    assert choose(recs, [False, True], Query(continent="EU", country="DE"), rng()).indices == [1]


def test_geolocation_all_matching_unhealthy_fails_open_to_most_specific() -> None:
    # The DE record is healthy but never applies to Seattle.
    assert choose(GEO, [False, False, False, False, True], SEATTLE, rng()).indices == [0]


# --- §Geoproximity --------------------------------------------------------------------------


def _point_at_km(km: float) -> tuple[float, float]:
    # Along the equator from (0, 0): 1 degree of longitude = 2*pi*R/360 km.
    return 0.0, km / (2 * np.pi * 6371.009 / 360)


def test_geoproximity_worked_example_a_150km_bias50_beats_b_100km() -> None:
    a_lat, a_lon = _point_at_km(150)
    b_lat, b_lon = _point_at_km(-100)
    recs = [
        Record(policy="geoproximity", set_id="A", lat=a_lat, lon=a_lon, bias=50),
        Record(policy="geoproximity", set_id="B", lat=b_lat, lon=b_lon),
    ]
    assert biased_distance_km(150, 50) == pytest.approx(75)
    for formula in ("current", "split"):
        assert choose(recs, [True, True], Q, rng(), formula=formula).indices == [0]
    # Without bias B is closer.
    plain = [recs[0].__class__(**{**recs[0].__dict__, "bias": 0}), recs[1]]
    assert choose(plain, [True, True], Q, rng()).indices == [1]


def test_geoproximity_bias_formulas() -> None:
    assert biased_distance_km(100, -50) == pytest.approx(150)  # current: d*(1-b/100)
    assert biased_distance_km(100, -50, "split") == pytest.approx(200)  # older: d/(1+b/100)
    assert biased_distance_km(100, 50, "split") == pytest.approx(50)


def test_geoproximity_negative_bias_formula_changes_winner() -> None:
    a_lat, a_lon = _point_at_km(100)
    b_lat, b_lon = _point_at_km(-170)
    recs = [
        Record(policy="geoproximity", set_id="A", lat=a_lat, lon=a_lon, bias=-50),
        Record(policy="geoproximity", set_id="B", lat=b_lat, lon=b_lon),
    ]
    assert choose(recs, [True, True], Q, rng()).indices == [0]  # 150 < 170
    assert choose(recs, [True, True], Q, rng(), formula="split").indices == [1]  # 200 > 170


def test_geoproximity_unhealthy_next_closest_and_failopen() -> None:
    recs = [
        Record(policy="geoproximity", set_id="near", lat=0.0, lon=1.0),
        Record(policy="geoproximity", set_id="far", lat=0.0, lon=5.0),
    ]
    assert choose(recs, [False, True], Q, rng()).indices == [1]
    assert choose(recs, [False, False], Q, rng()).indices == [0]


# --- §Multivalue ----------------------------------------------------------------------------


def mv(n: int) -> list[Record]:
    return [Record(policy="multivalue", set_id=f"m{i}", values=(f"10.0.1.{i}",)) for i in range(n)]


def test_multivalue_eight_or_fewer_healthy_returns_all() -> None:
    ans = choose(mv(5), [True, False, True, True, True], Q, rng())
    assert sorted(ans.indices) == [0, 2, 3, 4]


def test_multivalue_more_than_eight_random_eight() -> None:
    g = rng(0)
    answers = {tuple(sorted(choose(mv(12), [True] * 12, Q, g).indices)) for _ in range(30)}
    assert all(len(a) == MULTIVALUE_MAX for a in answers)
    assert len(answers) > 1  # different answers to different resolvers


def test_multivalue_all_unhealthy_returns_up_to_eight_unhealthy() -> None:
    assert len(choose(mv(10), [False] * 10, Q, rng()).indices) == 8
    assert sorted(choose(mv(3), [False] * 3, Q, rng()).indices) == [0, 1, 2]


# --- §IP-based ------------------------------------------------------------------------------

COLL = CidrCollection(
    {
        "wide": ["10.0.0.0/8"],
        "narrow": ["10.1.0.0/16"],
        "v6": ["2001:db8::/48"],
    }
)
IP_RECS = [
    Record(policy="ip", set_id="wide", cidr_location="wide"),
    Record(policy="ip", set_id="narrow", cidr_location="narrow"),
    Record(policy="ip", set_id="v6", cidr_location="v6"),
    Record(policy="ip", set_id="default", cidr_location="*"),
]


def ipq(addr: str, plen: int | None = None) -> Query:
    return Query(ip=ipaddress.ip_address(addr), prefix_len=plen)


def test_ip_longest_prefix_match() -> None:
    assert choose(IP_RECS, [True] * 4, ipq("10.1.2.3"), rng(), COLL).indices == [1]
    assert choose(IP_RECS, [True] * 4, ipq("10.2.2.3"), rng(), COLL).indices == [0]


def test_ip_query_prefix_longer_than_block_matches() -> None:
    assert choose(IP_RECS, [True] * 4, ipq("10.1.2.0", 24), rng(), COLL).indices == [1]
    assert choose(IP_RECS, [True] * 4, ipq("2001:db8::1", 56), rng(), COLL).indices == [2]


def test_ip_query_32_against_48_block_gets_default() -> None:
    assert choose(IP_RECS, [True] * 4, ipq("2001:db8::1", 32), rng(), COLL).indices == [3]
    # /12 query against the /16 block also falls back to the shorter /8.
    assert choose(IP_RECS, [True] * 4, ipq("10.0.0.0", 12), rng(), COLL).indices == [0]


def test_ip_no_match_default_and_nodata() -> None:
    assert choose(IP_RECS, [True] * 4, ipq("192.0.2.1"), rng(), COLL).indices == [3]
    ans = choose(IP_RECS[:3], [True] * 3, ipq("192.0.2.1"), rng(), COLL)
    assert ans.nodata
    assert choose(IP_RECS[:3], [True] * 3, Query(), rng(), COLL).nodata


def test_ip_unhealthy_falls_to_shorter_prefix_then_default() -> None:
    q = ipq("10.1.2.3")
    assert choose(IP_RECS, [True, False, True, True], q, rng(), COLL).indices == [0]
    assert choose(IP_RECS, [False, False, True, True], q, rng(), COLL).indices == [3]
    assert choose(IP_RECS, [False, False, True, False], q, rng(), COLL).indices == [1]


@pytest.mark.parametrize("block", ["10.0.0.0/25", "0.0.0.0/0", "2001:db8::/49", "::/0"])
def test_cidr_collection_rejects_bad_prefix(block: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        CidrCollection({"x": [block]})


def test_cidr_collection_rejects_star_location() -> None:
    with pytest.raises(ValueError, match="invalid"):
        CidrCollection({"*": ["10.0.0.0/8"]})


def test_cidr_collection_match_api() -> None:
    net = ipaddress.ip_network("10.1.2.0/24")
    assert COLL.matches(net) == ["narrow", "wide"]
    assert COLL.match(ipaddress.ip_network("2001:db8::/32")) is None


# --- choose() guards ----------------------------------------------------------------------


def test_choose_empty_is_nodata_and_checks_lengths() -> None:
    assert choose([], [], Q, rng()).nodata
    with pytest.raises(ValueError, match="one entry"):
        choose(mv(2), [True], Q, rng())
    with pytest.raises(ValueError, match="mixed"):
        choose([*mv(1), *weighted(1)], [True, True], Q, rng())


# --- validate_record_set (§Shared rules, policies) ------------------------------------------


def test_validate_ok_sets() -> None:
    assert validate_record_set(weighted(1, 1, 0)) == []
    assert validate_record_set(GEO) == []
    assert validate_record_set(FO) == []
    assert validate_record_set(IP_RECS, COLL) == []
    assert validate_record_set(LAT_RECS) == []
    assert validate_record_set(mv(9)) == []
    assert validate_record_set([]) == []


@pytest.mark.parametrize(
    ("records", "needle"),
    [
        ([*mv(1), *weighted(1)], "mixed"),
        ([Record(policy="weighted", weight=1)], "set identifier"),
        ([*weighted(1), *weighted(2)], "duplicate set identifier"),
        (weighted(256), "outside 0-255"),
        (weighted(-1), "outside 0-255"),
        ([Record(policy="weighted", set_id="a")], "needs a weight"),
        ([Record(policy="weighted", set_id=str(i), weight=1) for i in range(101)], "100"),
        ([Record(policy="geoproximity", set_id="a", lat=0, lon=0, bias=100)], "bias"),
        ([Record(policy="geoproximity", set_id="a", lat=0, lon=0, bias=-100)], "bias"),
        ([Record(policy="geoproximity", set_id="a")], "coordinates"),
        ([Record(policy="geolocation", set_id="a", country="CA", subdivision="ON")], "US"),
        ([Record(policy="geolocation", set_id="a", subdivision="WA")], "US"),
        (
            [
                Record(policy="geolocation", set_id="a", country="de"),
                Record(policy="geolocation", set_id="b", country="DE"),
            ],
            "duplicate geolocation",
        ),
        ([Record(policy="geolocation", set_id="a")], "needs a location"),
        ([Record(policy="geolocation", set_id="a", continent="XX")], "continent"),
        (
            [
                Record(policy="latency", set_id="a", region="us-east-1"),
                Record(policy="latency", set_id="b", region="us-east-1"),
            ],
            "duplicate latency region",
        ),
        ([Record(policy="latency", set_id="a")], "region"),
        ([Record(policy="multivalue", set_id="a", alias_target="x.example.")], "alias"),
        ([FO[1]], "exactly one primary"),
        ([FO[0], FO[0].__class__(**{**FO[0].__dict__, "set_id": "p2"})], "exactly one primary"),
        (
            [FO[0], FO[1], FO[1].__class__(**{**FO[1].__dict__, "set_id": "s2"})],
            "at most one secondary",
        ),
        ([Record(policy="failover", set_id="a")], "primary or secondary"),
        ([Record(policy="simple", set_id="a")], "no set identifier"),
        ([Record(policy="simple"), Record(policy="simple")], "only one"),
        ([Record(policy="ip", set_id="a")], "CIDR location"),
        (
            [
                Record(policy="ip", set_id="a", cidr_location="wide"),
                Record(policy="ip", set_id="b", cidr_location="wide"),
            ],
            "duplicate CIDR",
        ),
    ],
)
def test_validate_problems(records: list[Record], needle: str) -> None:
    problems = validate_record_set(records)
    assert any(needle in p for p in problems), problems


def test_validate_ip_location_must_exist_in_collection() -> None:
    recs = [Record(policy="ip", set_id="a", cidr_location="nowhere")]
    assert any("not in the collection" in p for p in validate_record_set(recs, COLL))


# --- Hypothesis properties ----------------------------------------------------------------

NON_GEO = ["simple", "weighted", "latency", "failover", "geoproximity", "multivalue"]


def build(policy: str, n: int, weights: list[int]) -> list[Record]:
    if policy == "simple":
        return [Record(policy="simple", values=("a", "b"))]
    if policy == "weighted":
        return weighted(*weights[:n])
    if policy == "latency":
        return [Record(policy="latency", set_id=str(i), region=f"r{i}") for i in range(n)]
    if policy == "failover":
        roles = ["primary", "secondary"][: min(n, 2)]
        return [Record(policy="failover", set_id=r, failover=r) for r in roles]  # type: ignore[arg-type]
    if policy == "geoproximity":
        return [
            Record(policy="geoproximity", set_id=str(i), lat=i, lon=-i, bias=weights[i] % 199 - 99)
            for i in range(n)
        ]
    return mv(n)


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(NON_GEO),
    n=st.integers(1, 12),
    weights=st.lists(st.integers(0, 255), min_size=12, max_size=12),
    health_bits=st.lists(st.booleans(), min_size=12, max_size=12),
    seed=st.integers(0, 2**32 - 1),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
)
def test_property_failopen_never_empty_for_non_geo(
    policy: str,
    n: int,
    weights: list[int],
    health_bits: list[bool],
    seed: int,
    lat: float,
    lon: float,
) -> None:
    recs = build(policy, n, weights)
    q = Query(lat=lat, lon=lon, latency_ms={f"r{i}": float(i * 7 % 5) for i in range(n)})
    ans = choose(recs, health_bits[: len(recs)], q, rng(seed))
    assert not ans.nodata
    assert ans.indices
    assert all(0 <= i < len(recs) for i in ans.indices)
    assert validate_record_set(recs) == []


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.integers(0, 255), min_size=1, max_size=6).filter(lambda w: sum(w) > 0))
def test_property_weighted_frequencies_match_weights(weights: list[int]) -> None:
    recs = weighted(*weights)
    g = rng(12345)
    draws = 6000
    counts = Counter(choose(recs, [True] * len(recs), Q, g).indices[0] for _ in range(draws))
    total = sum(weights)
    for i, w in enumerate(weights):
        assert abs(counts[i] / draws - w / total) < 0.03
        if w == 0:
            assert counts[i] == 0


@settings(max_examples=200, deadline=None)
@given(
    health=st.lists(st.booleans(), min_size=1, max_size=30),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_multivalue_at_most_eight_distinct_healthy(health: list[bool], seed: int) -> None:
    ans = choose(mv(len(health)), health, Q, rng(seed))
    assert len(ans.indices) == len(set(ans.indices)) <= MULTIVALUE_MAX
    pool = [i for i, h in enumerate(health) if h] or list(range(len(health)))
    assert set(ans.indices) <= set(pool)
    assert len(ans.indices) == min(MULTIVALUE_MAX, len(pool))


@settings(max_examples=200, deadline=None)
@given(
    health=st.lists(st.booleans(), min_size=3, max_size=3),
    weights=st.lists(st.integers(0, 255), min_size=3, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_weighted_prefers_healthy_nonzero(
    health: list[bool], weights: list[int], seed: int
) -> None:
    pick = choose(weighted(*weights), health, Q, rng(seed)).indices[0]
    if any(h and w > 0 for h, w in zip(health, weights, strict=True)):
        assert health[pick]
        assert weights[pick] > 0
    elif any(health):
        assert health[pick]


@settings(max_examples=200, deadline=None)
@given(
    lat_ms=st.lists(st.floats(0, 500), min_size=1, max_size=8),
    health=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_property_latency_is_min_over_healthy(lat_ms: list[float], health: list[bool]) -> None:
    n = len(lat_ms)
    recs = [Record(policy="latency", set_id=str(i), region=f"r{i}") for i in range(n)]
    q = Query(latency_ms={f"r{i}": v for i, v in enumerate(lat_ms)})
    pick = choose(recs, health[:n], q, rng()).indices[0]
    pool = [i for i in range(n) if health[i]] or list(range(n))
    assert lat_ms[pick] == min(lat_ms[i] for i in pool)
