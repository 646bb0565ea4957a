"""Route 53 policies and CloudFront caching inside scenario runs (tiny world)."""

from __future__ import annotations

import pytest

from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.services.cloudfront.sim import CachePolicySpec, DistributionSpec, cdn_distribution
from edgesim.services.cloudfront.vector import class_rules
from edgesim.sim.report import build_report
from edgesim.sim.results import Results, UnknownNameError

HEAD = """\
edgesim: 1
name: services
world: tiny
seed: 5
duration: {duration}
interval: 1m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: {rate}
"""
ENDPOINTS = """\
endpoints:
  - {name: use1, site: us-east-1, servers: 64, service_time: "fixed(5ms)"}
  - {name: euw2, site: eu-west-2, servers: 64, service_time: "fixed(5ms)"}
  - {name: apne1, site: ap-northeast-1, servers: 64, service_time: "fixed(5ms)"}
"""


def run(text: str) -> Results:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    res = Results(r)
    res.report = build_report(res)
    return res


def api(records: str, duration: str = "3m", rate: int = 200, timeline: str = "[]") -> str:
    return (
        HEAD.format(duration=duration, rate=rate)
        + """\
workloads:
  - {name: api, host: api.example.com, method: POST, size: 1KB}
"""
        + ENDPOINTS
        + """\
route53:
  zones:
    - name: example.com
      records:
"""
        + records
        + f"timeline: {timeline}\n"
    )


def site_share(r: Results) -> dict[str, float]:
    sites = r.report["sites"]
    total = sum(s["requests"] for s in sites.values())
    return {k.split(":", 1)[1]: s["requests"] / total for k, s in sites.items()}


def test_weighted_records_split_answers_by_weight() -> None:
    # Resolver caching makes each metro's resolver stick to one answer per TTL, so use many
    # TTL periods and compare the split of DNS answers, not of requests.
    recs = """\
        - {name: api, policy: weighted, set: a, weight: 3, alias: endpoint:use1, ttl: 1s}
        - {name: api, policy: weighted, set: b, weight: 1, alias: endpoint:euw2, ttl: 1s}
"""
    share = site_share(run(api(recs, duration="20m")))
    assert share["us-east-1"] == pytest.approx(0.75, abs=0.06)
    assert share["eu-west-2"] == pytest.approx(0.25, abs=0.06)


def test_weighted_all_zero_answers_equally() -> None:
    recs = """\
        - {name: api, policy: weighted, set: a, weight: 0, alias: endpoint:use1, ttl: 1s}
        - {name: api, policy: weighted, set: b, weight: 0, alias: endpoint:euw2, ttl: 1s}
"""
    share = site_share(run(api(recs, duration="20m")))
    assert share["us-east-1"] == pytest.approx(0.5, abs=0.07)


def test_weighted_skips_unhealthy_and_fails_open() -> None:
    recs = """\
        - {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:use1, ttl: 1s}
        - {name: api, policy: weighted, set: b, weight: 1, alias: endpoint:euw2, ttl: 1s}
"""
    one_down = run(api(recs, timeline="[{at: 0s, fail: endpoint:use1}]"))
    assert set(site_share(one_down)) == {"eu-west-2"}
    assert one_down.availability() > 0.99
    both = run(api(recs, timeline="[{at: 0s, fail: endpoint:use1}, {at: 0s, fail: endpoint:euw2}]"))
    assert both.availability() == 0.0  # answers still given (fail open), servers refuse


def test_failover_uses_the_secondary_while_the_primary_is_down() -> None:
    recs = """\
        - {name: api, policy: failover, set: p, failover: primary, alias: endpoint:use1}
        - {name: api, policy: failover, set: s, failover: secondary, alias: endpoint:euw2}
"""
    r = run(
        api(
            recs,
            duration="4m",
            timeline="[{at: 1m, fail: endpoint:use1}, {at: 3m, recover: endpoint:use1}]",
        )
    )
    rows = r.report["timeseries"]["rows"]
    assert rows[0]["errors"][-1] == 0
    assert rows[2]["errors"][-1] == 0  # minute 3: resolvers moved to the secondary
    assert r.report["sites"]["region:eu-west-2"]["requests"] > 0


WEB = (
    HEAD
    + """\
workloads:
  - name: web
    host: www.example.com
    objects: {{count: {count}, popularity: zipf(1.0), size: fixed(10KB)}}
    cache_control: "{cc}"
endpoints:
  - {{name: origin, site: us-east-1, servers: 256, service_time: "fixed(20ms)"}}
cloudfront:
  distributions:
    - name: site
      origin_shield: {shield}
      origins: [{{name: o, endpoint: origin}}]
      caches: {{edge: {edge}, regional: 1GB, eviction: {eviction}}}
route53:
  zones:
    - name: example.com
      records:
        - {{name: www, alias: cloudfront:site}}
timeline: {timeline}
"""
)


def web(
    count: int = 2000,
    cc: str = "max-age=3600",
    edge: str = "100MB",
    eviction: str = "lru",
    shield: str = "us-east-1",
    timeline: str = "[]",
    duration: str = "4m",
) -> str:
    return WEB.format(
        duration=duration,
        rate=300,
        count=count,
        cc=cc,
        edge=edge,
        eviction=eviction,
        shield=shield,
        timeline=timeline,
    )


def test_hits_are_faster_and_bigger_caches_hit_more() -> None:
    small = run(web(edge="1MB", count=20000))
    big = run(web(edge="1GB", count=20000))
    assert big.hit_ratio("site") > small.hit_ratio("site")
    cf = big.report["services"]["cloudfront"]["distributions"]["site"]
    assert cf["results"]["Hit"] > 0
    assert 0 < cf["origin_offload"] <= 1


def test_no_store_is_never_a_hit() -> None:
    r = run(web(cc="no-store"))
    assert r.hit_ratio("site") == 0.0


def test_invalidation_empties_the_caches_when_it_completes() -> None:
    # the default completion delay is 60 s (docs/cloudfront-http.md, Invalidation: undocumented,
    # a tunable)
    r = run(web(timeline='[{at: 2m, invalidate: {distribution: site, paths: ["/*"]}}]'))
    done = r.report["services"]["cloudfront"]["invalidations"]
    assert done
    assert done[0]["objects_removed"] > 0
    assert done[0]["at_s"] == 120
    assert 180 <= done[0]["completed_at_s"] <= 190  # at the first chunk boundary after 180 s
    rows = r.report["timeseries"]["rows"]
    p50 = [row["latency_ms"][-1]["p50"] for row in rows]
    assert p50[3] > p50[2]  # misses again once the invalidation has completed


def test_shield_and_regional_tiers_count_lookups() -> None:
    r = run(web())
    cf = r.report["services"]["cloudfront"]["distributions"]["site"]
    assert 0 <= cf["regional_hit_ratio"] <= 1
    assert 0 <= cf["shield_hit_ratio"] <= 1
    assert r.hit_ratio("site", tier="regional") == pytest.approx(cf["regional_hit_ratio"], abs=1e-6)
    with pytest.raises(KeyError):
        r.hit_ratio("site", tier="attic")
    with pytest.raises(KeyError):
        r.hit_ratio("nope")


@pytest.mark.parametrize("eviction", ["sieve", "s3-fifo"])
def test_other_eviction_policies_run(eviction: str) -> None:
    r = run(web(eviction=eviction, edge="2MB", count=5000))
    assert 0 < r.hit_ratio("site") < 1


def test_results_reject_unknown_names() -> None:
    r = run(web(duration="1m"))
    with pytest.raises(UnknownNameError):
        r.latency(group="atlantis")
    with pytest.raises(UnknownNameError):
        r.latency(workload="nope")
    with pytest.raises(UnknownNameError):
        r.requests(segment="nope")
    with pytest.raises(UnknownNameError):
        r.latency(group="tokyo", phase="dns")
    assert r.latency(phase="dns").count > 0
    with pytest.raises(UnknownNameError):
        r.failover_time("nowhere.example.com")
    assert r.failover_time("www.example.com") == 0.0  # nothing failed
    # each metro is sent to the edge location in its own city (tiny.yaml)
    assert set(r.report["pops"]) == {"NRT57", "LHR50", "JFK50"}
    for pop in r.report["pops"].values():
        assert pop["requests"] > 0
        assert pop["latency_ms"]["p50"] > 0


POLICY = CachePolicySpec(min_ttl="1s", default_ttl="1d", max_ttl="365d")


@pytest.mark.parametrize(
    ("cache_control", "expected_s"),
    [
        (None, 86400),  # no header: default TTL
        ("max-age=60", 60),  # within [min, max]: the header
        ("max-age=0", 1),  # below min: min
        ("max-age=999999999", 365 * 86400),  # above max: max
        ("s-maxage=30, max-age=600", 30),  # s-maxage wins for shared caches
        ("no-store", 1),  # not to be stored: min TTL
        ("private, max-age=600", 1),
    ],
)
def test_ttl_from_cache_control(cache_control: str | None, expected_s: float) -> None:
    """The TTL a run gives a workload's objects (the rules the run face tabulates)."""
    spec = DistributionSpec.model_validate(
        {"name": "d", "origins": [{"name": "o", "endpoint": "e"}], "cache_policy": POLICY}
    )
    rh = [("Cache-Control", cache_control)] if cache_control else []
    rules = class_rules(cdn_distribution(spec), "GET", "/a/0", response_headers=rh)
    assert rules.stored
    assert rules.ttl_ns / 1e9 == expected_s


def test_failover_time_is_bounded_by_the_ttl() -> None:
    recs = """\
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: b, region: eu-west-2, alias: endpoint:euw2}
        - {name: api, policy: latency, set: c, region: ap-northeast-1, alias: endpoint:apne1}
"""
    # fail half-way through the resolvers' TTL (they all started at 0 s)
    r = run(api(recs, duration="4m", timeline="[{at: 90s, fail: region:ap-northeast-1}]"))
    t = r.failover_time("api.example.com")
    assert 0 < t <= 60  # resolvers drop the dead answer when its 60 s TTL runs out
    assert r.report["dns"]["api.example.com"]["answers_to_down_targets"] > 0
    text = api(recs, duration="4m", timeline="[{at: 90s, fail: region:ap-northeast-1}]")
    text += "assertions:\n  - failover_time(record=api.example.com) <= 60s\n"
    assert run(text).report["assertions"][0]["ok"] is True


def test_set_weight_drains_a_record() -> None:
    recs = """\
        - {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:use1, ttl: 1s}
        - {name: api, policy: weighted, set: b, weight: 1, alias: endpoint:euw2, ttl: 1s}
"""
    tl = "[{at: 0s, set_weight: {record: api.example.com, set: a, weight: 0}}]"
    assert set(site_share(run(api(recs, timeline=tl)))) == {"eu-west-2"}


def test_az_failure_removes_that_share_of_servers() -> None:
    text = api(
        "        - {name: api, alias: endpoint:use1}\n",
        rate=600,
        timeline="[{at: 1m, fail: az:use1-az1}]",
    )
    text = text.replace(
        '{name: use1, site: us-east-1, servers: 64, service_time: "fixed(5ms)"}',
        '{name: use1, site: us-east-1, servers: 4, service_time: "fixed(5ms)",'
        " azs: [use1-az1, use1-az2]}",
    )
    r = run(text)
    rows = r.report["timeseries"]["rows"]
    p99 = [row["latency_ms"][-1]["p99"] for row in rows]
    assert p99[1] > p99[0]  # half the servers: the queue grows
    both = text.replace(
        "[{at: 1m, fail: az:use1-az1}]",
        "[{at: 1m, fail: az:use1-az1}, {at: 1m, fail: az:use1-az2}]",
    )
    assert run(both).report["timeseries"]["rows"][2]["errors"][-1] > 0


def test_degraded_link_loss_slows_transfers() -> None:
    recs = "        - {name: api, alias: endpoint:use1}\n"
    base = run(api(recs))
    lossy = run(api(recs, timeline="[{at: 0s, degrade: {link: hub:NYC-hub:BUD, loss: 5%}}]"))
    # London's users cross the Atlantic: handshake losses (1 s RTO) show in the tail
    assert lossy.latency(group="london").p99 > base.latency(group="london").p99 + 200
    assert lossy.latency(group="new-york").p99 == pytest.approx(
        base.latency(group="new-york").p99, rel=0.05
    )


def test_failed_origin_fetches_are_not_cached() -> None:
    r = run(web(timeline="[{at: 0s, fail: endpoint:origin}]"))
    cf = r.report["services"]["cloudfront"]["distributions"]["site"]
    assert cf["results"]["Hit"] == 0
    assert cf["results"]["Error"] == cf["requests"]


def test_weighted_falls_back_to_healthy_zero_weight_records() -> None:
    recs = """\
        - {name: api, policy: weighted, set: a, weight: 5, alias: endpoint:use1, ttl: 1s}
        - {name: api, policy: weighted, set: b, weight: 0, alias: endpoint:euw2, ttl: 1s}
"""
    r = run(api(recs, timeline="[{at: 0s, fail: endpoint:use1}]"))
    assert set(site_share(r)) == {"eu-west-2"}
    assert r.availability() > 0.99


def test_two_outages_are_two_failovers() -> None:
    recs = """\
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: c, region: ap-northeast-1, alias: endpoint:apne1}
"""
    tl = (
        "[{at: 90s, fail: region:ap-northeast-1}, {at: 3m, recover: region:ap-northeast-1},"
        " {at: 6m30s, fail: region:ap-northeast-1}]"
    )
    r = run(api(recs, duration="8m", timeline=tl))
    assert 0 < r.failover_time("api.example.com") <= 60


def test_two_workloads_share_one_endpoint_queue() -> None:
    def text(split: bool) -> str:
        a = "  - {name: a, host: a.example.com, target: endpoint:use1, method: POST, size: 1KB}\n"
        b = a.replace("name: a, host: a.", "name: b, host: b.")
        return (
            HEAD.format(duration="2m", rate=400)
            + "workloads:\n"
            + (a + b if split else a)
            + ENDPOINTS.replace(
                'servers: 64, service_time: "fixed(5ms)"',
                'servers: 2, service_time: "fixed(5ms)"',
                1,
            )
        )

    one, two = run(text(False)), run(text(True))
    # 400 req/s at a 2-server, 5 ms endpoint (capacity 400/s) is at saturation either way
    assert two.latency().p50 == pytest.approx(one.latency().p50, rel=0.5)


def test_geolocation_routes_by_country_then_continent_then_default() -> None:
    recs = """\
        - {name: api, policy: geolocation, set: jp, country: JP, alias: endpoint:apne1}
        - {name: api, policy: geolocation, set: eu, continent: EU, alias: endpoint:euw2}
        - {name: api, policy: geolocation, set: any, country: "*", alias: endpoint:use1}
"""
    r = run(api(recs))
    sites = r.report["sites"]
    # Tokyo (JP) → apne1, London (GB, in Europe) → euw2, New York (no US record) → default
    assert set(sites) == {"region:ap-northeast-1", "region:eu-west-2", "region:us-east-1"}
    assert r.latency(group="tokyo").p50 < r.latency(group="london").p50 + 200


def test_geolocation_without_default_gives_no_answer() -> None:
    recs = (
        "        - {name: api, policy: geolocation, set: jp, country: JP, alias: endpoint:apne1}\n"
    )
    r = run(api(recs))
    assert r.availability(group="tokyo") == 1.0
    assert r.availability(group="london") == 0.0
    assert r.report["summary"]["status_counts"]["530"] > 0  # NODATA: nothing to connect to


def test_geoproximity_bias_pulls_users_to_a_region() -> None:
    recs = """\
        - {name: api, policy: geoproximity, set: a, location: us-east-1, alias: endpoint:use1}
        - {name: api, policy: geoproximity, set: b, location: eu-west-2, alias: endpoint:euw2}
"""
    plain = site_share(run(api(recs)))
    biased = site_share(
        run(api(recs.replace("location: us-east-1,", "location: us-east-1, bias: 99,")))
    )
    assert biased["us-east-1"] > plain["us-east-1"]


def test_multivalue_spreads_answers_over_healthy_records() -> None:
    recs = """\
        - {name: api, policy: multivalue, set: a, alias: endpoint:use1, ttl: 1s}
        - {name: api, policy: multivalue, set: b, alias: endpoint:euw2, ttl: 1s}
        - {name: api, policy: multivalue, set: c, alias: endpoint:apne1, ttl: 1s}
"""
    share = site_share(run(api(recs, duration="10m")))
    assert all(v == pytest.approx(1 / 3, abs=0.08) for v in share.values())
    down = run(api(recs, timeline="[{at: 0s, fail: endpoint:euw2}]"))
    assert "region:eu-west-2" not in down.report["sites"]


def test_invalid_record_sets_are_refused() -> None:
    recs = """\
        - {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:use1}
        - {name: api, policy: weighted, set: a, weight: 1, alias: endpoint:euw2}
"""
    from edgesim.errors import InputError

    with pytest.raises(InputError, match="set"):
        run(api(recs))


HC = """\
edgesim: 1
name: health checks
world: aws-world
seed: 2
duration: 5m
interval: 30s
clients:
  - {{metros: [tokyo, london, new-york], requests_per_second: 60}}
workloads:
  - {{name: api, host: api.example.com, method: POST, size: 1KB}}
endpoints:
  - {{name: use1, site: us-east-1, servers: 64, service_time: "fixed(5ms)"}}
  - {{name: euw1, site: eu-west-1, servers: 64, service_time: "fixed(5ms)"}}
route53:
  health_checks:
    - {{name: hc, target: endpoint:use1, interval: {interval}, failure_threshold: {threshold}}}
  zones:
    - name: example.com
      records:
        - {{name: api, policy: failover, set: p, failover: primary, alias: endpoint:use1,
           health_check: hc, evaluate_target_health: false}}
        - {{name: api, policy: failover, set: s, failover: secondary, alias: endpoint:euw1}}
timeline:
  - {{at: 60s, fail: endpoint:use1}}
  - {{at: 200s, recover: endpoint:use1}}
"""


@pytest.mark.parametrize(("interval", "threshold"), [("10s", 3), ("30s", 2), ("10s", 1)])
def test_health_check_detects_after_interval_times_threshold(interval: str, threshold: int) -> None:
    r = run(HC.format(interval=interval, threshold=threshold))
    hc = r.report["services"]["route53"]["health_checks"]["hc"]
    down, up = hc["transitions"][0], hc["transitions"][1]
    step = int(interval[:-1])
    # probes at multiples of the interval; the failure at 60 s is seen by the first probe at
    # or after it, and the status flips after `threshold` failed probes in a row
    assert down == {
        "at_s": 60 + step * (threshold - 1) if 60 % step == 0 else None,
        "healthy": False,
        "since_last_event_s": step * (threshold - 1),
    }
    assert up["healthy"] is True
    assert up["at_s"] >= 200
    # users keep the dead answer for detection time + up to one TTL (60 s)
    assert (
        step * (threshold - 1)
        <= r.failover_time("api.example.com")
        <= (step * (threshold - 1) + 60 + step)
    )


def test_unknown_health_check_is_refused() -> None:
    from edgesim.errors import InputError

    text = HC.format(interval="10s", threshold=3).replace(
        "health_check: hc,", "health_check: nope,"
    )
    with pytest.raises(InputError, match="no health check named 'nope'"):
        run(text)


def test_checker_state_machine_and_18_percent_rule() -> None:
    from edgesim.route53.health import CalculatedCheck, EndpointCheck

    seen = {"r1": True, "r2": True, "r3": True, "r4": True, "r5": True, "r6": True}
    chk = EndpointCheck(
        name="x", regions=list(seen), interval_ns=10, failure_threshold=2, probe=lambda r: seen[r]
    )
    for r in ("r1", "r2", "r3", "r4", "r5"):
        seen[r] = False  # 1 of 6 = 16.7 % healthy: not more than 18 %
    chk.run(10)
    assert chk.healthy  # one failure is not enough with threshold 2
    chk.run(20)
    assert not chk.healthy
    seen["r2"] = True  # 2 of 6 = 33 %: healthy again once r2 has passed twice
    chk.run(30)
    assert not chk.healthy
    chk.run(40)
    assert chk.healthy
    assert chk.transitions == [(20, False), (40, True)]
    inv = EndpointCheck(
        name="i",
        regions=["a", "b", "c"],
        interval_ns=10,
        failure_threshold=1,
        probe=lambda r: True,
        inverted=True,
    )
    assert not inv.healthy
    calc = CalculatedCheck(name="c", children=[chk, inv], threshold=2)
    calc.update(50)
    assert not calc.healthy
    assert CalculatedCheck(name="z", children=[inv], threshold=0).healthy


def test_users_who_overstay_ttls_see_failures_longer() -> None:
    recs = """\
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: c, region: ap-northeast-1, alias: endpoint:apne1}
"""
    base = api(recs, duration="8m", timeline="[{at: 90s, fail: region:ap-northeast-1}]")
    normal = run(base)
    sticky = run(base.replace("timeline:", "dns: {overstay_share: 100%, overstay: 3m}\ntimeline:"))
    assert normal.failover_time("api.example.com") <= 60
    assert sticky.failover_time("api.example.com") > 120
    assert sticky.availability(group="tokyo") < normal.availability(group="tokyo")


def test_negative_answers_are_cached_for_the_negative_ttl() -> None:
    recs = (
        "        - {name: api, policy: geolocation, set: jp, country: JP, alias: endpoint:apne1}\n"
    )
    short = run(api(recs, duration="6m").replace("timeline:", "dns: {negative_ttl: 1s}\ntimeline:"))
    long_ = run(
        api(recs, duration="6m").replace("timeline:", "dns: {negative_ttl: 15m}\ntimeline:")
    )
    # London's and New York's resolvers get NODATA: with a 15 min negative TTL they ask once
    assert (
        long_.report["dns"]["api.example.com"]["resolver_misses"]
        < short.report["dns"]["api.example.com"]["resolver_misses"]
    )


def test_alarm_check_on_error_rate_fails_over() -> None:
    text = (
        HC.format(interval="30s", threshold=3)
        .replace(
            "    - {name: hc, target: endpoint:use1, interval: 30s, failure_threshold: 3}",
            "    - {name: hc, type: alarm, target: endpoint:use1, metric: error_rate, above: 0.05,"
            " interval: 30s, evaluation_periods: 2}",
        )
        .replace('service_time: "fixed(5ms)"}', 'service_time: "fixed(5ms)", error_rate: 20%}', 1)
    )
    r = run(text)
    hc = r.report["services"]["route53"]["health_checks"]["hc"]
    # 20 % errors from the start: ALARM after two breaching 30 s periods (at 60 s)
    assert hc["transitions"][0]["healthy"] is False
    assert hc["transitions"][0]["at_s"] == 60
    assert r.report["sites"]["region:eu-west-1"]["requests"] > 0
