"""TTL decisions (services.cloudfront.ttl) against spec §1.2 and §1.6 (errors)."""

from __future__ import annotations

import pytest

from edgesim.services.cloudfront.message import Headers, format_http_date, parse_http_date
from edgesim.services.cloudfront.ttl import (
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    CachePolicy,
    decide_ttl,
    delta_seconds,
    parse_cache_control,
)

NOW = 1_700_000_000.0
MIN0 = CachePolicy(min_ttl_s=0, default_ttl_s=86_400, max_ttl_s=31_536_000)
MINPOS = CachePolicy(min_ttl_s=300, default_ttl_s=86_400, max_ttl_s=31_536_000)
SMALLMAX = CachePolicy(min_ttl_s=0, default_ttl_s=100, max_ttl_s=1000)
SMALLMAX_MIN = CachePolicy(min_ttl_s=300, default_ttl_s=400, max_ttl_s=1000)


def _date(offset: float) -> str:
    return format_http_date(NOW + offset)


# Each row of spec §1.2's table, under both MinTTL columns:
# (id, policy, headers, expected cacheable, expected ttl)
TABLE = [
    # max-age/s-maxage = X: MinTTL=0 -> min(X, Max); MinTTL>0 -> clamp(X, Min, Max)
    ("max-age below max, min0", MIN0, {"Cache-Control": "max-age=60"}, True, 60),
    ("max-age below min, min>0", MINPOS, {"Cache-Control": "max-age=60"}, True, 300),
    ("max-age above max, min0", SMALLMAX, {"Cache-Control": "max-age=5000"}, True, 1000),
    ("max-age above max, min>0", SMALLMAX_MIN, {"Cache-Control": "max-age=5000"}, True, 1000),
    ("max-age inside, min>0", SMALLMAX_MIN, {"Cache-Control": "max-age=500"}, True, 500),
    ("s-maxage, min0", MIN0, {"Cache-Control": "s-maxage=70"}, True, 70),
    ("s-maxage below min, min>0", MINPOS, {"Cache-Control": "s-maxage=70"}, True, 300),
    ("s-maxage beats max-age, min0", MIN0, {"Cache-Control": "max-age=10, s-maxage=70"}, True, 70),
    (
        "s-maxage beats max-age, min>0",
        SMALLMAX_MIN,
        {"Cache-Control": "s-maxage=700, max-age=10"},
        True,
        700,
    ),
    (
        "max-age beats Expires, min0",
        MIN0,
        {"Cache-Control": "max-age=60", "Expires": _date(5000), "Date": _date(0)},
        True,
        60,
    ),
    (
        "max-age beats Expires, min>0",
        MINPOS,
        {"Cache-Control": "max-age=600", "Expires": _date(50), "Date": _date(0)},
        True,
        600,
    ),
    # Expires: MinTTL=0 -> until Expires capped at Max; MinTTL>0 -> clamp
    ("expires, min0", MIN0, {"Expires": _date(120), "Date": _date(0)}, True, 120),
    ("expires capped at max, min0", SMALLMAX, {"Expires": _date(5000)}, True, 1000),
    ("expires below min, min>0", MINPOS, {"Expires": _date(120)}, True, 300),
    ("expires above max, min>0", SMALLMAX_MIN, {"Expires": _date(9000)}, True, 1000),
    ("expires inside, min>0", SMALLMAX_MIN, {"Expires": _date(600)}, True, 600),
    ("expires in the past, min0", MIN0, {"Expires": _date(-10)}, True, 0),
    ("expires in the past, min>0", MINPOS, {"Expires": _date(-10)}, True, 300),
    ("invalid expires = expired, min0", MIN0, {"Expires": "0"}, True, 0),
    ("invalid expires = expired, min>0", MINPOS, {"Expires": "-1"}, True, 300),
    # none: MinTTL=0 -> Default; MinTTL>0 -> max(Min, Default)
    ("none, min0", MIN0, {}, True, 86_400),
    ("none, min>0", MINPOS, {}, True, 86_400),
    ("none, min>0, default=min", CachePolicy(min_ttl_s=50, default_ttl_s=50), {}, True, 50),
    ("cache-control without freshness, min0", MIN0, {"Cache-Control": "public"}, True, 86_400),
    # no-cache/no-store/private: MinTTL=0 -> not cached; MinTTL>0 -> cached for MinTTL
    ("no-cache, min0", MIN0, {"Cache-Control": "no-cache"}, False, 0),
    ("no-cache, min>0", MINPOS, {"Cache-Control": "no-cache"}, True, 300),
    ("no-store, min0", MIN0, {"Cache-Control": "no-store"}, False, 0),
    ("no-store, min>0", MINPOS, {"Cache-Control": "no-store"}, True, 300),
    ("private, min0", MIN0, {"Cache-Control": "private, max-age=600"}, False, 0),
    ("private, min>0", MINPOS, {"Cache-Control": "private, max-age=600"}, True, 300),
]


@pytest.mark.parametrize(
    ("policy", "headers", "cacheable", "ttl"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_precedence_table(
    policy: CachePolicy, headers: dict[str, str], cacheable: bool, ttl: float
) -> None:
    d = decide_ttl(policy, 200, headers, NOW)
    assert d.cacheable is cacheable
    if cacheable:
        assert d.ttl_s == pytest.approx(ttl)


def test_expires_relative_to_date_header_not_now() -> None:
    # The response's Date is 100 s before "now": Expires - Date = 200 s lifetime.
    h = {"Date": _date(-100), "Expires": _date(100)}
    assert decide_ttl(MIN0, 200, h, NOW).ttl_s == pytest.approx(200)
    # without Date the lifetime is counted from now
    assert decide_ttl(MIN0, 200, {"Expires": _date(100)}, NOW).ttl_s == pytest.approx(100)


def test_viewer_headers_do_not_matter_and_list_headers_accepted() -> None:
    d = decide_ttl(MIN0, 200, [("cache-control", "max-age=5"), ("X-Other", "1")], NOW)
    assert (d.cacheable, d.ttl_s, d.rule) == (True, 5, "max-age")
    d2 = decide_ttl(MIN0, 200, Headers({"CACHE-CONTROL": "S-MAXAGE=9"}), NOW)
    assert (d2.ttl_s, d2.rule) == (9, "s-maxage")


def test_presets() -> None:
    assert CACHING_OPTIMIZED.min_ttl_s == 1
    assert (CACHING_OPTIMIZED.default_ttl_s, CACHING_OPTIMIZED.max_ttl_s) == (86_400, 31_536_000)
    assert CachePolicy().min_ttl_s == 0
    assert (CACHING_DISABLED.min_ttl_s, CACHING_DISABLED.default_ttl_s) == (0, 0)
    assert CACHING_DISABLED.max_ttl_s == 0
    assert not decide_ttl(CACHING_DISABLED, 200, {"Cache-Control": "max-age=600"}, NOW).cacheable
    # CachingOptimized: no-cache is cached for MinTTL = 1 s
    d = decide_ttl(CACHING_OPTIMIZED, 200, {"Cache-Control": "no-cache"}, NOW)
    assert (d.cacheable, d.ttl_s) == (True, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_ttl_s": 10, "default_ttl_s": 5}, "min <= default <= max"),
        ({"default_ttl_s": 10, "max_ttl_s": 5}, "min <= default <= max"),
        ({"min_ttl_s": -1}, "min <= default"),
        ({"query_strings": "some"}, "query_strings must be"),
        ({"cookies": "allow"}, "non-empty list"),
        ({"cookies": "all", "cookie_names": ("a",)}, "takes no list"),
        ({"headers": ("Accept-Encoding",), "accept_encoding_gzip": True}, "Accept-Encoding"),
    ],
)
def test_policy_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CachePolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_only_get_head_cached(method: str) -> None:
    d = decide_ttl(MIN0, 200, {"Cache-Control": "max-age=60"}, NOW, method=method)
    assert not d.cacheable
    assert decide_ttl(MIN0, 200, {}, NOW, method="HEAD").cacheable


def test_options_cached_only_when_enabled() -> None:
    h = {"Cache-Control": "max-age=60"}
    assert decide_ttl(MIN0, 200, h, NOW, method="OPTIONS", cache_options=True).cacheable
    assert not decide_ttl(MIN0, 200, h, NOW, method="OPTIONS", cache_options=False).cacheable


# ---- spec §1.6: error caching ----------------------------------------------------------


@pytest.mark.parametrize("status", [404, 414, 500, 501, 502, 503, 504])
def test_always_cached_errors(status: int) -> None:
    # without max-age: the error caching minimum TTL (10 s by default)
    d = decide_ttl(MIN0, status, {}, NOW)
    assert (d.cacheable, d.ttl_s, d.is_error) == (True, 10, True)
    # with max-age: the larger of the two
    assert decide_ttl(MIN0, status, {"Cache-Control": "max-age=60"}, NOW).ttl_s == 60
    assert decide_ttl(MIN0, status, {"Cache-Control": "max-age=3"}, NOW).ttl_s == 10
    assert decide_ttl(MIN0, status, {"Cache-Control": "s-maxage=90"}, NOW).ttl_s == 90
    # a configured error caching minimum TTL
    assert decide_ttl(MIN0, status, {}, NOW, error_caching_min_ttl_s=300).ttl_s == 300
    assert not decide_ttl(MIN0, status, {}, NOW, error_caching_min_ttl_s=0).cacheable


@pytest.mark.parametrize("status", [400, 403, 405, 412, 415])
def test_errors_cached_only_with_max_age(status: int) -> None:
    assert not decide_ttl(MIN0, status, {}, NOW).cacheable
    assert not decide_ttl(MIN0, status, {"Expires": _date(600)}, NOW).cacheable
    d = decide_ttl(MIN0, status, {"Cache-Control": "max-age=60"}, NOW)
    assert (d.cacheable, d.ttl_s) == (True, 60)
    assert decide_ttl(MIN0, status, {"Cache-Control": "s-maxage=2"}, NOW).ttl_s == 10


@pytest.mark.parametrize("status", [401, 406, 409, 410, 411, 416, 429, 505])
def test_other_errors_never_cached(status: int) -> None:
    assert not decide_ttl(MIN0, status, {"Cache-Control": "max-age=60"}, NOW).cacheable


@pytest.mark.parametrize("status", [302, 303, 307, 201])
def test_other_statuses_need_explicit_freshness(status: int) -> None:
    # edgesim's choice (spec silent): cached only with s-maxage/max-age/Expires.
    assert not decide_ttl(MIN0, status, {}, NOW).cacheable
    assert decide_ttl(MIN0, status, {"Cache-Control": "max-age=30"}, NOW).ttl_s == 30
    assert decide_ttl(MIN0, status, {"Expires": _date(30)}, NOW).ttl_s == pytest.approx(30)


@pytest.mark.parametrize("status", [200, 203, 204, 300, 301, 308])
def test_heuristically_cacheable_statuses_use_default(status: int) -> None:
    assert decide_ttl(MIN0, status, {}, NOW).ttl_s == 86_400


def test_304_and_1xx_never_cached() -> None:
    assert not decide_ttl(MIN0, 304, {"Cache-Control": "max-age=60"}, NOW).cacheable
    assert not decide_ttl(MIN0, 101, {}, NOW).cacheable


# ---- stale-while-revalidate / stale-if-error -------------------------------------------


def test_swr_and_sie_values() -> None:
    cc = "max-age=60, stale-while-revalidate=30, stale-if-error=86400"
    d = decide_ttl(MIN0, 200, {"Cache-Control": cc}, NOW)
    assert (d.ttl_s, d.swr_s, d.sie_s) == (60, 30, 86_400)
    d0 = decide_ttl(MIN0, 200, {"Cache-Control": "max-age=1"}, NOW)
    assert (d0.swr_s, d0.sie_s) == (0, None)
    dz = decide_ttl(MINPOS, 200, {"Cache-Control": "no-cache, stale-if-error=0"}, NOW)
    assert (dz.cacheable, dz.ttl_s, dz.sie_s) == (True, 300, 0)


def test_cache_control_parsing() -> None:
    cc = parse_cache_control('max-age=5, private="set-cookie, x", MAX-AGE=9, no-cache')
    assert cc == {"max-age": "5", "private": "set-cookie, x", "no-cache": None}
    assert parse_cache_control(None) == {}
    assert delta_seconds({"max-age": "abc"}, "max-age") == 0
    assert delta_seconds({"max-age": None}, "max-age") == 0
    assert delta_seconds({"max-age": "99999999999"}, "max-age") == 2_147_483_648
    assert delta_seconds({}, "max-age") is None
    # invalid max-age is treated as stale (0), not as absent
    d = decide_ttl(MIN0, 200, {"Cache-Control": "max-age=soon"}, NOW)
    assert (d.cacheable, d.ttl_s) == (True, 0)


def test_http_dates() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777
    for bad in (None, "", "0", "-1", "tomorrow", "Sun, 99 Nov 1994 08:49:37 GMT"):
        assert parse_http_date(bad) is None
    assert format_http_date(784111777.9) == "Sun, 06 Nov 1994 08:49:37 GMT"
