"""The edge request pipeline (services.cloudfront.pipeline) plus collapsing and failover rules.

Spec sections: §1.1 tiers, §1.2 TTL/SWR/SIE/RefreshHit, §1.3 keys, §1.4 headers,
§1.5 collapsing, §1.6 error caching, §1.7 failover, §1.8 invalidation, §1.9 ranges.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from edgesim.services.cloudfront.behaviors import ALL_METHODS, BehaviorTable, CacheBehavior
from edgesim.services.cloudfront.collapse import (
    CollapseRegistry,
    Role,
    collapsing_enabled,
    response_collapsible,
)
from edgesim.services.cloudfront.failover import (
    OriginGroup,
    OriginTimeouts,
    next_action,
    validate_failover_codes,
    worst_case_wait_s,
)
from edgesim.services.cloudfront.invalidation import InvalidationTracker
from edgesim.services.cloudfront.key import OriginRequest, OriginRequestPolicy
from edgesim.services.cloudfront.message import (
    Headers,
    OriginFailure,
    OriginOutcome,
    OriginResponse,
    Request,
)
from edgesim.services.cloudfront.pipeline import (
    Distribution,
    EdgePipeline,
    Fetch,
    RequestIdGenerator,
    Respond,
    cloudfront_headers,
    via_host,
)
from edgesim.services.cloudfront.store import HttpStore
from edgesim.services.cloudfront.ttl import CACHING_DISABLED, CACHING_OPTIMIZED, CachePolicy

T0 = 1_700_000_000.0
MIN0 = CachePolicy()


class Origin:
    """A scripted origin recording the requests it receives."""

    def __init__(self, *responses: OriginOutcome | Callable[[OriginRequest], OriginOutcome]):
        self.responses = list(responses)
        self.calls: list[OriginRequest] = []

    def __call__(self, req: OriginRequest) -> OriginOutcome:
        self.calls.append(req)
        r = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return r(req) if callable(r) else r


def ok(body: bytes = b"hello world", cc: str | None = "max-age=60", **hdrs: str) -> OriginResponse:
    h = [("Content-Type", "text/plain"), ("ETag", '"v1"')]
    if cc is not None:
        h.append(("Cache-Control", cc))
    h += [(k.replace("_", "-"), v) for k, v in hdrs.items()]
    return OriginResponse(200, Headers(h), body)


def pipe(policy: CachePolicy = MIN0, **beh: object) -> EdgePipeline:
    b = CacheBehavior(cache_policy=policy, **beh)  # type: ignore[arg-type]
    return EdgePipeline(Distribution(behaviors=BehaviorTable(default=b)), pop="NRT57-C1")


def tiers(n: int = 2) -> list[HttpStore]:
    names = ["edge", "regional", "shield"]
    return [HttpStore(10**7, name=names[i]) for i in range(n)]


def get(target: str = "/a.txt", **hdrs: str) -> Request:
    return Request.from_target("GET", target, {k.replace("_", "-"): v for k, v in hdrs.items()})


# ---- hits, misses, headers (§1.4) -------------------------------------------------------


def test_miss_then_hit_with_age_and_cloudfront_headers() -> None:
    p, ts, o = pipe(), tiers(), Origin(ok())
    r1 = p.handle(get(), ts, T0, o)
    assert (r1.status, r1.result, r1.x_cache, r1.served_by) == (
        200,
        "Miss",
        "Miss from cloudfront",
        "origin",
    )
    assert r1.body == b"hello world"
    assert r1.stored
    assert "age" not in r1.headers
    r2 = p.handle(get(), ts, T0 + 14.6, o)
    assert (r2.result, r2.headers.get("x-cache")) == ("Hit", "Hit from cloudfront")
    assert r2.headers.get("age") == "14"
    assert len(o.calls) == 1
    assert re.fullmatch(
        r"1\.1 [0-9a-f]{32}\.cloudfront\.net \(CloudFront\)", r2.headers.get("via") or ""
    )
    assert r2.headers.get("x-amz-cf-pop") == "NRT57-C1"
    cf_id = r2.headers.get("x-amz-cf-id") or ""
    assert len(cf_id) == 56
    assert cf_id != r1.headers.get("x-amz-cf-id")
    assert r2.request_id == cf_id


def test_request_ids_and_via_are_deterministic() -> None:
    a, b = RequestIdGenerator(7, "X"), RequestIdGenerator(7, "X")
    assert [a.next() for _ in range(3)] == [b.next() for _ in range(3)]
    assert RequestIdGenerator(8, "X").next() != RequestIdGenerator(7, "X").next()
    assert via_host("NRT57-C1") == via_host("NRT57-C1") != via_host("FRA56-P5")
    h = cloudfront_headers(
        Headers({"Via": "1.1 origin", "X-Cache": "old"}),
        "Hit",
        pop="P",
        via="v.cloudfront.net",
        request_id="id",
        age="3",
    )
    assert h.get("via") == "1.1 origin, 1.1 v.cloudfront.net (CloudFront)"
    assert h.get_all("x-cache") == ["Hit from cloudfront"]
    assert h.get("age") == "3"


def test_upper_tier_hit_fills_lower_tiers() -> None:
    p, (edge, rec), o = pipe(), tiers(), Origin(ok())
    p.handle(get(), [edge, rec], T0, o)
    edge.clear()
    r = p.handle(get(), [edge, rec], T0 + 5, o)
    assert (r.result, r.served_by, r.headers.get("age")) == ("Miss", "regional", "5")
    assert len(o.calls) == 1
    r2 = p.handle(get(), [edge, rec], T0 + 7, o)
    # edgesim's choice (docs/cloudfront-http.md): a copy from an upper tier starts its own Age
    assert (r2.result, r2.headers.get("age")) == ("Hit", "2")
    # ... and a full lifetime (TTL 60) from the moment the edge stored it (T0 + 5)
    assert p.handle(get(), [edge, rec], T0 + 64, Origin(ok())).result == "Hit"
    assert p.handle(get(), [edge, rec], T0 + 66, Origin(ok())).result != "Hit"


def test_each_tier_stores_on_the_way_back() -> None:
    p, ts = pipe(), tiers(3)
    p.handle(get(), ts, T0, Origin(ok()))
    assert all(len(t) == 1 for t in ts)


# ---- expiry, revalidation, RefreshHit (§1.2) --------------------------------------------


def test_expired_revalidated_304_is_refresh_hit() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(Last_Modified="Sun, 06 Nov 1994 08:49:37 GMT")))
    o = Origin(OriginResponse(304, {"ETag": '"v1"', "Cache-Control": "max-age=120"}))
    r = p.handle(get(), ts, T0 + 61, o)
    sent = o.calls[0].headers
    assert sent.get("if-none-match") == '"v1"'
    assert sent.get("if-modified-since") == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert (r.status, r.result, r.body) == (200, "RefreshHit", b"hello world")
    assert r.headers.get("x-cache") == "RefreshHit from cloudfront"
    assert r.headers.get("cache-control") == "max-age=120"  # stored headers updated by the 304
    # the refreshed object is fresh for the new TTL
    assert p.handle(get(), ts, T0 + 61 + 119, Origin(ok())).result == "Hit"


def test_expired_200_replaces() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok()))
    r = p.handle(get(), ts, T0 + 61, Origin(ok(b"new body")))
    assert (r.result, r.body) == ("Miss", b"new body")
    assert p.handle(get(), ts, T0 + 62, Origin(ok())).body == b"new body"


def test_edge_stale_upper_tier_fresh_same_version_is_refresh_hit() -> None:
    p, (edge, rec) = pipe(), tiers()
    p.handle(get(), [edge, rec], T0, Origin(ok(cc="max-age=10")))
    # the regional copy is refreshed (by another PoP) while the edge copy expires
    p.handle(get(), [rec], T0 + 20, Origin(OriginResponse(304, {"Cache-Control": "max-age=10"})))
    o = Origin(ok())
    r = p.handle(get(), [edge, rec], T0 + 25, o)
    assert (r.result, r.served_by) == ("RefreshHit", "regional")
    assert not o.calls


def test_max_age_zero_with_validator_revalidates_every_time() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="max-age=0")))
    o = Origin(OriginResponse(304, {}))
    assert p.handle(get(), ts, T0 + 1, o).result == "RefreshHit"
    assert p.handle(get(), ts, T0 + 2, o).result == "RefreshHit"
    assert len(o.calls) == 2


def test_304_that_makes_the_object_uncacheable_removes_it() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok()))
    r = p.handle(get(), ts, T0 + 61, Origin(OriginResponse(304, {"Cache-Control": "no-store"})))
    assert r.result == "RefreshHit"
    assert all(len(t) == 0 for t in ts)


# ---- stale-while-revalidate / stale-if-error (§1.2, §1.6) ------------------------------


def test_stale_while_revalidate_serves_stale_and_revalidates_in_background() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="max-age=10, stale-while-revalidate=30")))
    a = p.decide(get(), ts, T0 + 20)
    assert isinstance(a, Respond)
    assert a.revalidate is not None
    assert (a.response.result, a.response.stale, a.response.body) == ("Hit", True, b"hello world")
    assert a.revalidate.background
    assert a.revalidate.collapse_key is None
    assert a.revalidate.origin_request.headers.get("if-none-match") == '"v1"'
    p.complete(a.revalidate, ok(b"v2", cc="max-age=10"), T0 + 20)
    r = p.handle(get(), ts, T0 + 21, Origin(ok()))
    assert (r.result, r.body, r.stale) == ("Hit", b"v2", False)
    # beyond the SWR window the viewer waits for the origin
    assert isinstance(p.decide(get(), ts, T0 + 20 + 10 + 30), Fetch)


def test_handle_runs_swr_background_fetch() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="max-age=10, stale-while-revalidate=30")))
    o = Origin(ok(b"v2"))
    assert p.handle(get(), ts, T0 + 15, o).body == b"hello world"
    assert len(o.calls) == 1
    assert p.handle(get(), ts, T0 + 16, o).body == b"v2"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_stale_served_on_origin_5xx(status: int) -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="max-age=10")))
    o = Origin(OriginResponse(status, {}, b"err"))
    r = p.handle(get(), ts, T0 + 100, o)
    assert (r.status, r.body, r.stale, r.result) == (200, b"hello world", True, "Hit")
    # ... for the error caching TTL (10 s) without asking the origin again
    r2 = p.handle(get(), ts, T0 + 109, o)
    assert (r2.status, r2.stale) == (200, True)
    assert len(o.calls) == 1
    p.handle(get(), ts, T0 + 111, o)
    assert len(o.calls) == 2


def test_origin_timeout_counts_as_5xx_for_stale() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="max-age=10")))
    r = p.handle(get(), ts, T0 + 50, Origin(OriginFailure("timeout")))
    assert (r.status, r.stale) == (200, True)


def test_stale_if_error_zero_suppresses_stale() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="max-age=10, stale-if-error=0")))
    r = p.handle(get(), ts, T0 + 50, Origin(OriginResponse(503, {}, b"down")))
    assert (r.status, r.result, r.body) == (503, "Error", b"down")


def test_stale_if_error_window() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="max-age=10, stale-if-error=60")))
    assert p.handle(get(), ts, T0 + 70, Origin(OriginFailure())).status == 200
    ts2 = tiers()
    p.handle(get(), ts2, T0, Origin(ok(cc="max-age=10, stale-if-error=60")))
    r = p.handle(get(), ts2, T0 + 71, Origin(OriginFailure()))
    assert (r.status, r.result, r.served_by) == (502, "Error", "edge")


def test_no_cache_with_min_ttl_cached_for_min_and_stale_on_unreachable() -> None:
    p, ts = pipe(CACHING_OPTIMIZED), tiers()
    p.handle(get(), ts, T0, Origin(ok(cc="no-cache")))
    assert p.handle(get(), ts, T0 + 0.5, Origin(ok())).result == "Hit"  # MinTTL = 1 s
    r = p.handle(get(), ts, T0 + 5, Origin(OriginFailure("unreachable")))
    assert (r.status, r.stale) == (200, True)
    ts2 = tiers()
    p.handle(get(), ts2, T0, Origin(ok(cc="no-cache, stale-if-error=0")))
    assert p.handle(get(), ts2, T0 + 5, Origin(OriginFailure())).status == 502


def test_no_cache_with_min_ttl_zero_not_cached() -> None:
    p, ts, o = pipe(), tiers(), Origin(ok(cc="no-store"))
    p.handle(get(), ts, T0, o)
    p.handle(get(), ts, T0 + 1, o)
    assert len(o.calls) == 2
    assert all(len(t) == 0 for t in ts)


# ---- error caching (§1.6) --------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 414, 500, 501, 502, 503, 504])
def test_always_cached_errors_cached_for_10s(status: int) -> None:
    p, ts, o = pipe(), tiers(), Origin(OriginResponse(status, {}, b"nope"))
    r = p.handle(get(), ts, T0, o)
    assert (r.status, r.result, r.x_cache) == (status, "Error", "Error from cloudfront")
    r2 = p.handle(get(), ts, T0 + 9.9, o)
    assert (r2.status, r2.result) == (status, "Error")
    assert len(o.calls) == 1
    p.handle(get(), ts, T0 + 10, o)
    assert len(o.calls) == 2


@pytest.mark.parametrize("status", [400, 403, 405, 412, 415])
def test_conditionally_cached_errors(status: int) -> None:
    p, ts = pipe(), tiers()
    o = Origin(OriginResponse(status, {}, b"no"))
    p.handle(get(), ts, T0, o)
    p.handle(get(), ts, T0 + 1, o)
    assert len(o.calls) == 2
    o2 = Origin(OriginResponse(status, {"Cache-Control": "max-age=30"}, b"no"))
    p.handle(get("/b"), ts, T0, o2)
    assert p.handle(get("/b"), ts, T0 + 29, o2).status == status
    assert len(o2.calls) == 1


def test_origin_failure_without_stale_is_cached_error() -> None:
    p, ts = pipe(), tiers()
    o = Origin(OriginFailure("timeout"))
    r = p.handle(get(), ts, T0, o)
    assert (r.status, r.result, r.served_by) == (504, "Error", "edge")
    assert b"504 ERROR" in (r.body or b"")
    assert p.handle(get(), ts, T0 + 5, o).status == 504
    assert len(o.calls) == 1


def test_error_ttl_uses_configured_minimum() -> None:
    d = Distribution(error_caching_min_ttl_s=300)
    p, ts, o = EdgePipeline(d), tiers(), Origin(OriginResponse(404, {}, b""))
    p.handle(get(), ts, T0, o)
    p.handle(get(), ts, T0 + 299, o)
    assert len(o.calls) == 1


# ---- methods and bypass (§1.1, §1.3) ----------------------------------------------------


def test_non_cacheable_methods_bypass_caches() -> None:
    p, ts = pipe(allowed_methods=ALL_METHODS), tiers()
    o = Origin(ok())
    for m in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        a = p.decide(Request(m, "/a.txt"), ts, T0)
        assert isinstance(a, Fetch)
        assert a.key is None
        assert a.collapse_key is None
        r = p.complete(a, o(a.origin_request), T0)
        assert (r.result, r.stored, r.served_by) == ("Miss", False, "origin")
    assert all(len(t) == 0 for t in ts)
    assert all(t.stats.requests == 0 for t in ts)  # not even looked up
    a = p.decide(Request("POST", "/a"), ts, T0)
    assert isinstance(a, Fetch)
    assert p.complete(a, OriginFailure("timeout"), T0).status == 504
    assert p.complete(a, OriginFailure("unreachable"), T0).status == 502


def test_method_not_allowed_is_403() -> None:
    a = pipe().decide(Request("POST", "/a"), tiers(), T0)
    assert isinstance(a, Respond)
    assert (a.response.status, a.response.result) == (403, "Error")


def test_caching_disabled_bypasses() -> None:
    p, ts, o = pipe(CACHING_DISABLED), tiers(), Origin(ok())
    p.handle(get(), ts, T0, o)
    assert p.handle(get(), ts, T0 + 1, o).result == "Miss"
    assert len(o.calls) == 2


def test_options_cached_separately_when_enabled() -> None:
    p = pipe(allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}), cache_options=True)
    ts = tiers()
    o = Origin(lambda r: ok(r.method.encode()))
    p.handle(get(), ts, T0, o)
    r = p.handle(Request("OPTIONS", "/a.txt"), ts, T0 + 1, o)
    assert (r.result, r.body) == ("Miss", b"OPTIONS")
    assert p.handle(Request("OPTIONS", "/a.txt"), ts, T0 + 2, o).result == "Hit"
    assert p.handle(get(), ts, T0 + 2, o).body == b"GET"


def test_head_answers_from_get_and_head_only_copy_does_not_answer_get() -> None:
    p, ts = pipe(), tiers()
    o = Origin(lambda r: ok(b"" if r.method == "HEAD" else b"full"))
    r = p.handle(Request("HEAD", "/a.txt"), ts, T0, o)
    assert (r.status, r.body, r.size, o.calls[0].method) == (200, b"", 0, "HEAD")
    assert p.handle(Request("HEAD", "/a.txt"), ts, T0 + 1, o).result == "Hit"
    g = p.handle(get(), ts, T0 + 2, o)
    assert (g.result, g.body) == ("Miss", b"full")
    assert p.handle(Request("HEAD", "/a.txt"), ts, T0 + 3, o).result == "Hit"
    assert len(o.calls) == 2


# ---- variants and keys (§1.3) ------------------------------------------------------------


def test_accept_encoding_variants_never_cross() -> None:
    p, ts = pipe(CACHING_OPTIMIZED), tiers()

    def origin(r: OriginRequest) -> OriginOutcome:
        enc = r.headers.get("accept-encoding") or "identity"
        return ok(enc.encode(), Content_Encoding=enc)

    bodies = {}
    for ae in ("gzip", "br", "gzip, br", "deflate", None):
        hdrs = {"Accept-Encoding": ae} if ae else {}
        bodies[ae] = p.handle(Request("GET", "/a", "", Headers(hdrs)), ts, T0, origin).body
    assert bodies == {
        "gzip": b"gzip",
        "br": b"br",
        "gzip, br": b"br,gzip",
        "deflate": b"identity",
        None: b"identity",
    }
    again = p.handle(
        Request("GET", "/a", "", Headers({"Accept-Encoding": "gzip, deflate"})), ts, T0 + 1, origin
    )
    assert (again.result, again.body) == ("Hit", b"gzip")


def test_key_header_variants_isolated_non_key_header_shared() -> None:
    p, ts = pipe(CachePolicy(headers=("X-Lang",))), tiers()
    o = Origin(lambda r: ok((r.headers.get("x-lang") or "-").encode()))
    assert p.handle(get(X_Lang="en", User_Agent="a"), ts, T0, o).body == b"en"
    assert p.handle(get(X_Lang="fr", User_Agent="a"), ts, T0, o).body == b"fr"
    r = p.handle(get(X_Lang="en", User_Agent="b"), ts, T0 + 1, o)
    assert (r.result, r.body) == ("Hit", b"en")
    assert len(o.calls) == 2


def test_set_cookie_not_replayed_to_other_viewers() -> None:
    p, ts = pipe(), tiers()
    first = p.handle(get(), ts, T0, Origin(ok(Set_Cookie="session=alice")))
    assert first.headers.get("set-cookie") == "session=alice"
    assert "set-cookie" not in p.handle(get(), ts, T0 + 1, Origin(ok())).headers
    # kept when cookies are forwarded (then they are part of the key or forwarded on purpose)
    pc, tc = pipe(CachePolicy(cookies="all")), tiers()
    pc.handle(get(Cookie="u=1"), tc, T0, Origin(ok(Set_Cookie="s=1")))
    assert pc.handle(get(Cookie="u=1"), tc, T0 + 1, Origin(ok())).headers.get("set-cookie") == "s=1"


def test_behaviour_selects_policy() -> None:
    table = BehaviorTable(
        [CacheBehavior("/api/*", cache_policy=CACHING_DISABLED)],
        CacheBehavior(cache_policy=MIN0),
    )
    p, ts, o = EdgePipeline(Distribution(behaviors=table)), tiers(), Origin(ok())
    p.handle(get("/api/x"), ts, T0, o)
    p.handle(get("/api/x"), ts, T0 + 1, o)
    p.handle(get("/static/x"), ts, T0, o)
    assert p.handle(get("/static/x"), ts, T0 + 1, o).result == "Hit"
    assert len(o.calls) == 3


def test_object_over_30gb_not_stored() -> None:
    p, ts = pipe(), tiers()
    big = OriginResponse(200, {"Cache-Control": "max-age=60"}, None, size=31 * 1024**3)
    r = p.handle(get(), ts, T0, Origin(big))
    assert (r.status, r.size, r.body, r.stored) == (200, 31 * 1024**3, None, False)
    ok_size = OriginResponse(200, {"Cache-Control": "max-age=60"}, None, size=1000)
    p.handle(get("/s"), ts, T0, Origin(ok_size))
    assert p.handle(get("/s"), ts, T0 + 1, Origin(ok_size)).size == 1000


def test_uncacheable_fresh_response_replaces_stale_copies() -> None:
    p, ts = pipe(), tiers()
    p.handle(get(), ts, T0, Origin(ok()))
    p.handle(get(), ts, T0 + 61, Origin(ok(b"private", cc="private")))
    assert all(len(t) == 0 for t in ts)


# ---- viewer conditionals and ranges (§1.9) ------------------------------------------------


def test_viewer_conditional_gets_304() -> None:
    p, ts = pipe(), tiers()
    lm = "Sun, 06 Nov 1994 08:49:37 GMT"
    p.handle(get(), ts, T0, Origin(ok(Last_Modified=lm)))
    r = p.handle(get(If_None_Match='W/"v1"'), ts, T0 + 1, Origin(ok()))
    assert (r.status, r.body, r.size, r.result) == (304, b"", 0, "Hit")
    assert r.headers.get("etag") == '"v1"'
    assert "content-type" not in r.headers
    assert p.handle(get(If_None_Match='"v0"'), ts, T0 + 1, Origin(ok())).status == 200
    assert p.handle(get(If_None_Match="*"), ts, T0 + 1, Origin(ok())).status == 304
    assert p.handle(get(If_Modified_Since=lm), ts, T0 + 1, Origin(ok())).status == 304
    older = "Sat, 05 Nov 1994 08:49:37 GMT"
    assert p.handle(get(If_Modified_Since=older), ts, T0 + 1, Origin(ok())).status == 200
    p2, t2 = pipe(), tiers()
    p2.handle(get(), t2, T0, Origin(OriginResponse(200, {"Cache-Control": "max-age=9"}, b"x")))
    assert p2.handle(get(If_None_Match='"v1"'), t2, T0 + 1, Origin(ok())).status == 200


@pytest.mark.parametrize(
    ("rng", "status", "body", "content_range"),
    [
        ("bytes=0-4", 206, b"hello", "bytes 0-4/11"),
        ("bytes=-5", 206, b"world", "bytes 6-10/11"),
        ("bytes=6-999", 206, b"world", "bytes 6-10/11"),
        ("bytes=11-", 416, b"", "bytes */11"),
        ("bytes=5-2", 200, b"hello world", None),
        ("bytes=0-5,3-8", 200, b"hello world", None),
        ("bytes=6-7,0-1", 200, b"hello world", None),
    ],
)
def test_ranges_from_cache(rng: str, status: int, body: bytes, content_range: str | None) -> None:
    p, ts = pipe(), tiers()
    o = Origin(ok())
    r = p.handle(get(Range=rng), ts, T0, o)  # a miss: the whole object is fetched and cached
    assert "range" not in o.calls[0].headers
    assert (r.status, r.body, r.headers.get("content-range")) == (status, body, content_range)
    r2 = p.handle(get(Range=rng), ts, T0 + 1, o)
    # X-Cache/log result: 4xx answers are Error even when the object came from the cache
    assert (r2.status, r2.body, r2.result) == (status, body, "Error" if status >= 400 else "Hit")
    if status == 416:
        assert r2.headers.get("x-cache") == "Error from cloudfront"
        assert r2.headers.get("content-type") == "text/html"


def test_multi_range_multipart_and_size_only() -> None:
    p, ts = pipe(), tiers()
    r = p.handle(get(Range="bytes=0-1,6-7"), ts, T0, Origin(ok()))
    assert r.status == 206
    ctype = r.headers.get("content-type") or ""
    assert ctype.startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 0-1/11\r\n\r\nhe" in (r.body or b"")
    assert r.size == len(r.body or b"")
    sized = OriginResponse(200, {"Cache-Control": "max-age=60"}, None, size=1000)
    r2 = p.handle(get("/s", Range="bytes=100-199"), ts, T0, Origin(sized))
    assert (r2.status, r2.body, r2.size) == (206, None, 100)
    r3 = p.handle(get("/s", Range="bytes=5000-"), ts, T0, Origin(sized))
    assert (r3.status, r3.body, r3.size) == (416, None, 0)


# ---- invalidation end to end (§1.8) -------------------------------------------------------


def test_invalidation_applied_on_completion() -> None:
    d = Distribution(id="DIST")
    p, ts, o = EdgePipeline(d), tiers(3), Origin(ok(cc="max-age=600"))
    p.handle(get("/img/a.jpg?w=1"), ts, T0, o)
    p.handle(get("/img/b.jpg"), ts, T0, o)
    inv = InvalidationTracker(completion_delay_s=60)
    inv.create("DIST", ["/img/a.jpg"], T0)
    assert inv.pop_due(T0 + 30) == []
    assert p.handle(get("/img/a.jpg?w=1"), ts, T0 + 30, o).result == "Hit"
    for done in inv.pop_due(T0 + 60):
        assert sum(t.invalidate(done.paths, done.distribution_id) for t in ts) == 3
    assert p.handle(get("/img/a.jpg?w=1"), ts, T0 + 61, o).result == "Miss"
    assert p.handle(get("/img/b.jpg"), ts, T0 + 61, o).result == "Hit"


# ---- collapsing (§1.5) ------------------------------------------------------------------


def test_collapsing_request_level_rules() -> None:
    assert collapsing_enabled(MIN0)
    assert not collapsing_enabled(CACHING_DISABLED)
    assert not collapsing_enabled(CachePolicy(cookies="all"))
    assert not collapsing_enabled(MIN0, OriginRequestPolicy(cookies="allow", cookie_names=("a",)))
    assert collapsing_enabled(MIN0, OriginRequestPolicy(headers="all_viewer"))
    a = pipe().decide(get(), tiers(), T0)
    assert isinstance(a, Fetch) and a.collapse_key == a.key.text if a.key else False
    b = pipe(CachePolicy(cookies="all")).decide(get(), tiers(), T0)
    assert isinstance(b, Fetch)
    assert b.collapse_key is None


@pytest.mark.parametrize(
    ("cc", "min_ttl", "collapsible"),
    [
        ("max-age=60", 0, True),
        (None, 0, True),
        ("private", 0, False),
        ("no-store", 0, False),
        ("no-cache", 0, False),
        ("max-age=0", 0, False),
        ("s-maxage=0, max-age=60", 0, False),
        ("private", 1, True),
        ("max-age=0", 1, True),
    ],
)
def test_collapsing_per_object_rule(cc: str | None, min_ttl: float, collapsible: bool) -> None:
    policy = CachePolicy(min_ttl_s=min_ttl, default_ttl_s=max(min_ttl, 86_400))
    h = {"Cache-Control": cc} if cc else {}
    assert response_collapsible(policy, h) is collapsible
    p, ts = pipe(policy), tiers()
    a = p.decide(get(), ts, T0)
    assert isinstance(a, Fetch)
    r = p.complete(a, OriginResponse(200, h, b"x"), T0)
    assert r.shareable is collapsible


def test_collapse_registry_followers_get_leader_result() -> None:
    reg: CollapseRegistry[str] = CollapseRegistry()
    lead = reg.begin("k")
    f1, f2 = reg.begin("k"), reg.begin("k")
    other = reg.begin("k2")
    assert (lead.role, f1.role, f2.role, other.role) == (
        Role.LEADER,
        Role.FOLLOWER,
        Role.FOLLOWER,
        Role.LEADER,
    )
    assert reg.in_flight("k")
    assert reg.followers("k") == 2
    assert reg.result(f1) is None
    assert reg.finish("k", "resp") == [f1, f2]
    assert reg.result(f1) == ("resp", True)
    assert reg.result(f1) is None
    assert reg.result(f2) == ("resp", True)
    assert not reg.in_flight("k")
    assert reg.begin("k").role is Role.LEADER
    reg.begin("k2")
    t = reg.finish("k2", "private", shareable=False)
    assert reg.result(t[0]) == ("private", False)


def test_collapsed_followers_are_hits_after_leader() -> None:
    p, ts = pipe(), tiers()
    reg: CollapseRegistry[object] = CollapseRegistry()
    actions = [p.decide(get(), ts, T0) for _ in range(3)]
    tickets = [reg.begin(a.collapse_key or "") for a in actions if isinstance(a, Fetch)]
    assert [t.role for t in tickets] == [Role.LEADER, Role.FOLLOWER, Role.FOLLOWER]
    lead = actions[0]
    assert isinstance(lead, Fetch)
    resp = p.complete(lead, ok(), T0)
    assert resp.result == "Miss"
    for t in reg.finish(lead.collapse_key or "", resp, resp.shareable):
        assert reg.result(t) == (resp, True)
        again = p.decide(get(), ts, T0)  # a released follower re-reads the cache
        assert isinstance(again, Respond)
        assert again.response.result == "Hit"


# ---- origin failover (§1.7) ---------------------------------------------------------------


def test_failover_codes_validation() -> None:
    assert validate_failover_codes([500, 502]) == {500, 502}
    with pytest.raises(ValueError, match="cannot trigger failover"):
        validate_failover_codes([500, 501])
    with pytest.raises(ValueError, match="at least one"):
        validate_failover_codes([])
    g = OriginGroup("a", "b", frozenset({503}))
    assert g.failover_status_codes == {503}
    assert g.selection_criteria == "default"
    with pytest.raises(ValueError, match="two different"):
        OriginGroup("a", "a")
    with pytest.raises(ValueError, match="selection_criteria"):
        OriginGroup("a", "b", selection_criteria="fastest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot trigger"):
        OriginGroup("a", "b", frozenset({429}))


@pytest.mark.parametrize(
    ("outcome", "method", "primary", "expected"),
    [
        (503, "GET", True, "failover"),
        (404, "HEAD", True, "failover"),
        (416, "OPTIONS", True, "failover"),
        (200, "GET", True, "serve"),
        (501, "GET", True, "serve"),  # not a failover status
        (503, "POST", True, "serve"),  # only GET/HEAD/OPTIONS fail over
        ("timeout", "GET", True, "failover"),
        ("unreachable", "GET", True, "failover"),
        ("timeout", "POST", True, "error"),
        (503, "GET", False, "serve"),  # the secondary's answer is final
        ("timeout", "GET", False, "error"),
    ],
)
def test_next_action(outcome: int | str, method: str, primary: bool, expected: str) -> None:
    assert next_action(outcome, method, primary) == expected  # type: ignore[arg-type]


def test_next_action_respects_group_subset() -> None:
    assert next_action(404, "GET", True, {500, 503}) == "serve"
    assert next_action(503, "GET", True, {500, 503}) == "failover"


def test_timeouts_defaults_ranges_and_worst_case() -> None:
    t = OriginTimeouts()
    assert (t.connection_timeout_s, t.connection_attempts, t.read_timeout_s) == (10, 3, 30)
    assert t.response_completion_timeout_s is None
    assert worst_case_wait_s() == 30  # spec §1.7: up to 30 s with the defaults
    assert (
        worst_case_wait_s(
            OriginTimeouts(connection_timeout_s=2, connection_attempts=1, read_timeout_s=5)
        )
        == 5
    )
    assert (
        worst_case_wait_s(OriginTimeouts(read_timeout_s=10, response_completion_timeout_s=60)) == 60
    )
    for bad in (
        {"connection_timeout_s": 0.5},
        {"connection_timeout_s": 11},
        {"connection_attempts": 0},
        {"connection_attempts": 4},
        {"read_timeout_s": 0},
        {"read_timeout_s": 121},
        {"read_timeout_s": 30, "response_completion_timeout_s": 29},
    ):
        with pytest.raises(ValueError, match="must"):
            OriginTimeouts(**bad)  # type: ignore[arg-type]
