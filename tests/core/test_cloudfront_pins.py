"""Claims about CloudFront in runs pinned by exact expectations (they fail when broken)."""

from __future__ import annotations

from typing import Any

from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results

SHIELD = """\
edgesim: 1
name: shield
world: tiny
seed: 1
duration: 2m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 30
workloads:
  - name: web
    host: www.example.com
    objects: {{count: 1, size: fixed(10KB)}}
    cache_control: "max-age=86400"
cloudfront:
  distributions:
    - name: site
{shield}      origins:
        - {{name: s3, s3: {{bucket: assets, region: us-east-1}}}}
route53:
  zones:
    - name: example.com
      records:
        - {{name: www, alias: cloudfront:site}}
"""


def run(text: str) -> Results:
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file)
    r.execute()
    res = Results(r)
    res.report = build_report(res)
    return res


def site(res: Results) -> dict[str, Any]:
    out: dict[str, Any] = res.report["services"]["cloudfront"]["distributions"]["site"]
    return out


def test_origin_shield_offload_rises_by_a_known_amount() -> None:
    """One object, cached for a day, requested from three metros whose edge locations
    reach the S3 origin's region directly (the regional edge cache in us-east-1 is bypassed
    for an S3 origin there, cloudfront.md §1.1). Without Origin Shield each edge location
    fetches it once; with Origin Shield (eu-west-2) only the first request reaches the
    origin and the other edge locations' first requests are OriginShieldHits."""
    plain = site(run(SHIELD.format(shield="")))
    shielded = site(run(SHIELD.format(shield="      origin_shield: eu-west-2\n")))
    edges = len(plain["pops"])
    assert edges == 3
    assert plain["origin_requests"] == edges
    assert plain["results"]["OriginShieldHit"] == 0
    assert shielded["origin_requests"] == 1
    assert shielded["results"]["OriginShieldHit"] == edges - 1
    total = plain["requests"]
    assert shielded["requests"] == total
    rise = shielded["origin_offload"] - plain["origin_offload"]
    assert abs(rise - (edges - 1) / total) < 1e-6


PRICE = """\
edgesim: 1
name: price
world: aws-world
seed: 1
duration: 1m
clients:
  - metros: [tokyo]
    requests_per_second: 20
workloads:
  - {{name: web, host: www.example.com, objects: {{count: 10}}}}
endpoints:
  - {{name: o, site: region:us-east-1}}
cloudfront:
  distributions:
    - {{name: site, price_class: "{pc}", origins: [{{name: o, endpoint: o}}]}}
route53:
  zones:
    - name: example.com
      records:
        - {{name: www, alias: cloudfront:site}}
"""


def pop_regions(res: Results) -> set[str]:
    by_id = {e.id: e.price_class_region for e in res.run.ctx.world.edge_locations}
    return {by_id[p] for p in site(res)["pops"]}


def test_price_class_100_moves_tokyo_to_north_america_or_europe() -> None:
    """Price Class 100 uses only edge locations in North America and Europe (AWS page
    "Choose the price class for a CloudFront distribution")."""
    everywhere = run(PRICE.format(pc="all"))
    assert pop_regions(everywhere) == {"japan"}
    cheap = run(PRICE.format(pc="100"))
    assert pop_regions(cheap) <= {"us_mexico_canada", "europe_israel"}
    assert site(cheap)["requests"] > 0


VARIETY = """\
edgesim: 1
name: variety
world: tiny
seed: 2
duration: 3m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 100
workloads:
  - name: web
    host: www.example.com
    objects: {{count: 200, size: fixed(10KB)}}
    cache_control: "max-age=86400"
{variety}endpoints:
  - {{name: o, site: region:us-east-1}}
cloudfront:
  distributions:
    - name: site
      origins: [{{name: o, endpoint: o}}]
      cache_policy: {policy}
route53:
  zones:
    - name: example.com
      records:
        - {{name: www, alias: cloudfront:site}}
"""
MIXED = """\
    variety:
      tracking_query: {share: 0.5, values: 50}
      accept_language: {en: 0.5, fr: 0.3, ja: 0.2}
      session_cookie: {share: 0.3, sessions: 100}
"""


def test_a_cache_key_with_request_variety_costs_hit_ratio() -> None:
    """Requests carry tracking query strings, Accept-Language and session cookies: a policy
    that keys on none of them gives exactly the run without variety; each one it keys on
    splits the objects into variants and lowers the hit ratio (cloudfront.md §1.3)."""
    plain = site(run(VARIETY.format(variety="", policy="{}")))
    ignored = site(run(VARIETY.format(variety=MIXED, policy="{}")))
    assert ignored["origin_requests"] == plain["origin_requests"]
    assert ignored["hit_ratio"] == plain["hit_ratio"]
    for policy in (
        "{query_strings: all}",
        "{query_strings: allow, query_string_names: [utm_source]}",
        "{headers: [Accept-Language]}",
        "{cookies: all}",
    ):
        keyed = site(run(VARIETY.format(variety=MIXED, policy=policy)))
        assert keyed["requests"] == plain["requests"], policy
        assert keyed["hit_ratio"] < plain["hit_ratio"] - 0.05, policy
        assert keyed["origin_requests"] > plain["origin_requests"], policy
    # a query-string allow-list without the tracking parameter keeps the key clean
    other = site(
        run(
            VARIETY.format(
                variety=MIXED, policy="{query_strings: allow, query_string_names: [page]}"
            )
        )
    )
    assert other["origin_requests"] == plain["origin_requests"]


def test_quickstart_web_errors_stop_within_the_error_ttl_after_the_recovery() -> None:
    """The README's claim on scenarios/quickstart.yaml (scaled down: fewer metros and
    requests, the outage from 20 to 40 min, 10 s intervals): web requests fail while
    us-east-1 (the S3 origin) is down, and no web error is answered later than the error
    caching TTL (10 s) after it recovers (before issue 13 they were cached for the content's
    max-age, a day)."""
    from pathlib import Path

    root = (
        next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
        / "scenarios"
    )
    text = (root / "quickstart.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("duration: 2h", "duration: 50m"),
        ("interval: 5m", "interval: 10s"),
        ("{at: 60m, fail", "{at: 20m, fail"),
        ("{at: 80m, recover", "{at: 40m, recover"),
        ("requests_per_second: 350", "requests_per_second: 60"),
        ("metros: top-200", "metros: top-30"),
    ):
        assert old in text
        text = text.replace(old, new)
    scn, index, file = load_scenario_text(text)
    r = prepare(scn, index, file, base_dir=root)
    r.execute()
    res = Results(r)
    rep = build_report(res)
    w = rep["timeseries"]["workloads"].index("web")
    rows = rep["timeseries"]["rows"]
    during = sum(row["errors"][w] for row in rows if 1220 <= row["t_s"] < 2400)
    after = sum(row["errors"][w] for row in rows if row["t_s"] >= 2400 + 10)
    assert during > 100
    assert after == 0
    cf = rep["services"]["cloudfront"]["distributions"]["site"]
    assert cf["errors_from_cache"] > 0  # errors were cached (for 10 s), not re-fetched
