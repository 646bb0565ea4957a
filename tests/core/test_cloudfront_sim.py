"""CloudFront in scenario runs: behaviours, origin groups, error caching, stale copies,
RefreshHit, collapsing, invalidation timing, per-result latency (docs/cloudfront-http.md)."""

from __future__ import annotations

from typing import Any

import pytest

from edgesim.errors import InputError
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

BASE = """\
edgesim: 1
name: cf
world: tiny
seed: 3
duration: {duration}
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: {rate}
workloads:
  - name: static
    host: www.example.com
    path_prefix: /static
    objects: {{count: {count}, popularity: zipf(1.0), size: fixed(10KB)}}
    cache_control: "{cc}"
  - {{name: api, host: www.example.com, path_prefix: /api, method: POST, size: 1KB, share: 0.2}}
endpoints:
  - {{name: use1, site: us-east-1, servers: 512, service_time: "{service}"}}
  - {{name: euw2, site: eu-west-2, servers: 512, service_time: "fixed(20ms)"}}
cloudfront:
  distributions:
    - name: site
      origins:
        - {{name: a, endpoint: use1, connection_timeout: 2s, connection_attempts: 2}}
        - {{name: b, endpoint: euw2}}
      origin_groups:
        - {{name: ha, primary: a, secondary: b}}
      default_origin: {default}
      collapse: {collapse}
      behaviors:
        - {{path: "/api/*", origin: a, cache_policy: CachingDisabled}}
        - {{path: "/static/*", origin: {default}, cache_policy: {policy}}}
route53:
  zones:
    - name: example.com
      records:
        - {{name: www, alias: cloudfront:site}}
timeline: {timeline}
"""


def text(**kw: Any) -> str:
    args: dict[str, Any] = {
        "duration": "3m",
        "rate": 200,
        "count": 500,
        "cc": "max-age=3600",
        "service": "fixed(20ms)",
        "default": "ha",
        "collapse": "true",
        "policy": "CachingOptimized",
        "timeline": "[]",
    }
    args.update(kw)
    return BASE.format(**args)


def run(source: str) -> Results:
    scn, index, file = load_scenario_text(source)
    r = prepare(scn, index, file)
    r.execute()
    res = Results(r)
    res.report = build_report(res)
    return res


def load_and_prepare(source: str) -> None:
    scn, index, file = load_scenario_text(source)
    prepare(scn, index, file)


def site(r: Results) -> dict[str, Any]:
    out: dict[str, Any] = r.report["services"]["cloudfront"]["distributions"]["site"]
    return out


def test_behaviours_by_path_decide_caching() -> None:
    cf = site(run(text()))
    assert cf["behaviors"]["static"] == {
        "behavior": "/static/*",
        "cacheable": True,
        "ttl_s": 3600.0,
    }
    assert cf["behaviors"]["api"]["behavior"] == "/api/*"
    assert cf["behaviors"]["api"]["cacheable"] is False
    assert cf["results"]["Hit"] > 0
    assert cf["hit_ratio"] > 0.5


def test_methods_a_behaviour_does_not_allow_get_403() -> None:
    source = text().replace(
        '{path: "/api/*", origin: a, cache_policy: CachingDisabled}',
        '{path: "/api/*", origin: a, cache_policy: CachingDisabled, allowed_methods: GET_HEAD}',
    )
    r = run(source)
    assert r.report["workloads"]["api"]["availability"] == 0.0
    assert r.report["summary"]["status_counts"].get("403", 0) > 0


@pytest.mark.parametrize(
    ("cc", "policy", "cached"),
    [
        ("no-store", "CachingOptimized", True),  # MinTTL 1 s: cached for 1 s (§1.2 table)
        ("no-store", "{min_ttl: 0s}", False),  # MinTTL 0: not cached
        ("max-age=60", "CachingDisabled", False),
        ("s-maxage=30, max-age=5", "{default_ttl: 10s, max_ttl: 10s}", True),
    ],
)
def test_the_ttl_table_applies_to_workloads(cc: str, policy: str, cached: bool) -> None:
    cf = site(run(text(cc=cc, policy=policy, duration="1m")))
    assert cf["behaviors"]["static"]["cacheable"] is cached
    if cc.startswith("s-maxage"):
        assert cf["behaviors"]["static"]["ttl_s"] == 10.0  # clamped to MaxTTL
    if cc == "no-store" and cached:
        assert cf["behaviors"]["static"]["ttl_s"] == 1.0


def test_origin_group_fails_over_after_the_connection_timeouts() -> None:
    outage = "[{at: 60s, fail: endpoint:use1}]"
    r = run(text(timeline=outage, count=50000))
    cf = site(r)
    assert cf["origin_failovers"] > 0
    assert r.report["workloads"]["static"]["availability"] > 0.99
    hops = r.report["workloads"]["static"]["hops_mean_ms"]
    # a failed-over request waited ConnectionTimeout x attempts = 2 s x 2 before the secondary
    assert "origin failover" in hops
    r_no_group = run(text(timeline=outage, count=50000, default="a"))
    assert r_no_group.report["workloads"]["static"]["availability"] < 0.99


def test_failover_waits_connection_timeout_times_attempts() -> None:
    r = run(text(timeline="[{at: 60s, fail: endpoint:use1}]", count=50000))
    lat = site(r)["latency_ms_by_result"]
    # misses served by the secondary after the primary's timeouts take at least 4 s
    assert lat["Miss"]["max"] >= 4000


def test_errors_are_cached_for_ten_seconds() -> None:
    outage = "[{at: 60s, fail: endpoint:use1}]"
    cc = "max-age=1, stale-if-error=0"  # no stale copies: the errors reach users
    r = run(text(timeline=outage, default="a", count=20, duration="2m", cc=cc))
    cf = site(r)
    assert cf["errors_from_cache"] > 0
    assert cf["results"]["Error"] > 0
    # each edge asks the origin about each object at most once per 10 s during the outage:
    # 3 edges x 20 objects x 6 windows in the last minute, far fewer than the requests
    static = r.report["workloads"]["static"]["requests"]
    assert cf["errors_from_cache"] > static / 4


def test_stale_copies_are_served_when_the_origin_fails() -> None:
    outage = "[{at: 90s, fail: endpoint:use1}]"
    r = run(text(timeline=outage, default="a", count=50, cc="max-age=20"))
    assert site(r)["stale_served"] > 0
    no_stale = run(text(timeline=outage, default="a", count=50, cc="max-age=20, stale-if-error=0"))
    assert site(no_stale)["stale_served"] == 0
    assert (
        no_stale.report["workloads"]["static"]["availability"]
        < r.report["workloads"]["static"]["availability"]
    )


def test_expired_objects_are_revalidated_as_refresh_hits() -> None:
    cf = site(run(text(count=50, cc="max-age=5")))
    assert cf["results"]["RefreshHit"] > 0
    long = site(run(text(count=50, cc="max-age=3600")))
    assert long["results"]["RefreshHit"] == 0


def test_collapsing_sends_one_request_per_object_and_edge() -> None:
    slow = {"service": "fixed(2s)", "count": 5, "rate": 300, "duration": "1m", "default": "a"}
    on = site(run(text(**slow)))
    off = site(run(text(collapse="false", **slow)))
    assert on["collapsed"] > 0
    assert off["collapsed"] == 0
    assert off["origin_requests"] > on["origin_requests"]


def test_latency_by_result_type() -> None:
    lat = site(run(text()))["latency_ms_by_result"]
    assert lat["Hit"]["p50"] < lat["Miss"]["p50"]


def test_s3_origin_in_the_recs_region_skips_the_regional_tier() -> None:
    source = text(default="s3").replace(
        "- {name: b, endpoint: euw2}",
        "- {name: b, endpoint: euw2}\n        - {name: s3, s3: {bucket: b, region: us-east-1}}",
    )
    cf = site(run(source))
    assert cf["results"]["Miss"] > 0
    assert cf["regional_hit_ratio"] == 0.0
    assert cf["regional_byte_hit_ratio"] == 0.0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "origin: a, cache_policy: CachingDisabled",
            "origin: z, cache_policy: CachingDisabled",
            "no origin or origin group named 'z'",
        ),
        (
            "{name: ha, primary: a, secondary: b}",
            "{name: ha, primary: a, secondary: a}",
            "two different origins",
        ),
        (
            "{name: ha, primary: a, secondary: b}",
            "{name: ha, primary: a, secondary: q}",
            "no origin named 'q'",
        ),
        (
            "{name: ha, primary: a, secondary: b}",
            "{name: ha, primary: a, secondary: b, failover_on: [418]}",
            "failover_on",
        ),
        ("connection_timeout: 2s", "connection_timeout: 20s", "from 1s to 10s"),
        ("connection_attempts: 2", "connection_attempts: 4", "connection_attempts"),
        ('"/static/*"', '"/api/*"', "duplicate path pattern"),
        (
            "cache_policy: CachingDisabled",
            "cache_policy: {managed: CachingDisabled, min_ttl: 5s}",
            "takes no other settings",
        ),
        (
            "cache_policy: CachingDisabled",
            "cache_policy: {query_strings: allow}",
            "needs a list of names",
        ),
    ],
)
def test_bad_distributions_are_refused(old: str, new: str, message: str) -> None:
    source = text()
    assert old in source
    scn_text = source.replace(old, new, 1)
    with pytest.raises(InputError) as info:
        load_and_prepare(scn_text)
    rendered = info.value.render()
    assert message in rendered
    assert "cloudfront.distributions[0]" in rendered
