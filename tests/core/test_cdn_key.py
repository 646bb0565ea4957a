"""Cache keys and forwarded requests (edgesim.services.cloudfront.key) against spec §1.3."""

from __future__ import annotations

import pytest

from edgesim.services.cloudfront.key import (
    OriginRequestPolicy,
    build_cache_key,
    forwarded_request,
    key_digest,
    normalise_accept_encoding,
    parse_cookies,
    parse_query,
)
from edgesim.services.cloudfront.message import Headers, Request
from edgesim.services.cloudfront.ttl import CachePolicy

D = "E123"


def req(
    target: str, headers: dict[str, str] | list[tuple[str, str]] | None = None, method: str = "GET"
) -> Request:
    return Request.from_target(method, target, headers or {})


def key(r: Request, policy: CachePolicy | None = None, dist: str = D) -> str:
    return build_cache_key(dist, r, policy or CachePolicy()).text


def test_default_key_is_distribution_and_path() -> None:
    base = key(req("/a.jpg"))
    # query strings, headers and cookies are not in the default key
    assert key(req("/a.jpg?x=1", {"User-Agent": "x", "Cookie": "s=1"})) == base
    assert key(req("/b.jpg")) != base
    assert key(req("/A.jpg")) != base  # paths are case-sensitive
    assert key(req("/a.jpg"), dist="E999") != base


def test_options_keyed_separately_and_head_shares_get() -> None:
    get = key(req("/a"))
    assert key(req("/a", method="OPTIONS")) != get
    assert key(req("/a", method="HEAD")) == get


def test_header_in_key_full_value() -> None:
    p = CachePolicy(headers=("X-Device",))
    a = key(req("/a", {"x-device": "mobile"}), p)
    assert key(req("/a", {"X-DEVICE": "mobile", "Other": "1"}), p) == a
    assert key(req("/a", {"X-Device": "Mobile"}), p) != a
    assert key(req("/a", {"X-Device": "mobile, tablet"}), p) != a
    # absent differs from empty
    assert key(req("/a"), p) != key(req("/a", {"X-Device": ""}), p)


@pytest.mark.parametrize(
    ("mode", "names", "same", "different"),
    [
        ("none", (), "?a=2&b=3", None),
        ("all", (), "?b=2&a=1", "?a=1&b=3"),
        ("allow", ("a",), "?a=1&b=9&c=8", "?a=2&b=2"),
        ("all_except", ("b",), "?a=1&b=999", "?a=1&b=2&c=1"),
    ],
)
def test_query_string_modes(
    mode: str, names: tuple[str, ...], same: str, different: str | None
) -> None:
    p = CachePolicy(query_strings=mode, query_string_names=names)  # type: ignore[arg-type]
    base = key(req("/p?a=1&b=2"), p)
    assert key(req("/p" + same), p) == base
    if different is not None:
        assert key(req("/p" + different), p) != base


def test_query_names_case_sensitive() -> None:
    p = CachePolicy(query_strings="allow", query_string_names=("a",))
    assert key(req("/p?A=1"), p) == key(req("/p"), p)
    assert key(req("/p?a=1"), p) != key(req("/p"), p)


@pytest.mark.parametrize(
    ("mode", "names", "same", "different"),
    [
        ("none", (), "z=9", None),
        ("all", (), "b=2; a=1", "a=1; b=3"),
        ("allow", ("a",), "a=1; z=0", "a=2"),
        ("all_except", ("b",), "a=1; b=7", "a=1; b=2; c=1"),
    ],
)
def test_cookie_modes(mode: str, names: tuple[str, ...], same: str, different: str | None) -> None:
    p = CachePolicy(cookies=mode, cookie_names=names)  # type: ignore[arg-type]
    base = key(req("/p", {"Cookie": "a=1; b=2"}), p)
    assert key(req("/p", {"Cookie": same}), p) == base
    if different is not None:
        assert key(req("/p", {"Cookie": different}), p) != base


@pytest.mark.parametrize(
    ("value", "gzip", "brotli", "expected"),
    [
        ("gzip, deflate, br", True, True, "br,gzip"),
        ("br", True, True, "br"),
        ("gzip", True, True, "gzip"),
        ("deflate", True, True, ""),
        (None, True, True, ""),
        ("gzip, br", True, False, "gzip"),
        ("gzip, br", False, True, "br"),
        ("gzip;q=0, br", True, True, "br"),
        ("*", True, True, "br,gzip"),
        ("*, gzip;q=0", True, True, "br"),
        ("identity", True, True, ""),
        ("gzip;q=bad", True, True, ""),
        ("GZIP", True, True, "gzip"),
    ],
)
def test_accept_encoding_normalisation(
    value: str | None, gzip: bool, brotli: bool, expected: str
) -> None:
    assert normalise_accept_encoding(value, gzip=gzip, brotli=brotli) == expected


def test_accept_encoding_buckets_in_key() -> None:
    p = CachePolicy(accept_encoding_gzip=True, accept_encoding_brotli=True)
    gz = key(req("/a", {"Accept-Encoding": "gzip"}), p)
    assert key(req("/a", {"Accept-Encoding": "gzip, deflate"}), p) == gz
    assert key(req("/a", {"Accept-Encoding": "br"}), p) != gz
    assert key(req("/a"), p) != gz
    # without normalisation, Accept-Encoding is not in the key
    assert key(req("/a", {"Accept-Encoding": "gzip"})) == key(req("/a"))


def test_digest_is_stable_signed_64_bit() -> None:
    k = build_cache_key(D, req("/a"), CachePolicy())
    assert k.digest == key_digest(k.text)
    assert -(2**63) <= k.digest < 2**63
    # a fixed value: keys are stable across processes and versions
    assert key_digest("x") == key_digest("x") != key_digest("y")
    assert (k.path, k.query, k.method_class, k.distribution_id) == ("/a", "", "GET", D)


def test_parsers() -> None:
    assert parse_query("a=1&&b&c=") == [("a", "1"), ("b", ""), ("c", "")]
    assert parse_cookies(Headers([("Cookie", "a=1; b = 2"), ("cookie", "c=3;")])) == [
        ("a", "1"),
        ("b", "2"),
        ("c", "3"),
    ]


def test_forwarded_includes_key_items_and_origin_policy_extras() -> None:
    p = CachePolicy(
        headers=("x-device",),
        query_strings="allow",
        query_string_names=("v",),
        cookies="allow",
        cookie_names=("session",),
        accept_encoding_gzip=True,
    )
    orp = OriginRequestPolicy(
        headers="allow",
        header_names=("X-Trace",),
        cookies="allow",
        cookie_names=("ab",),
        query_strings="allow",
        query_string_names=("utm",),
    )
    r = req(
        "/p?utm=x&v=2&junk=1",
        [
            ("X-Device", "m"),
            ("X-Trace", "t1"),
            ("User-Agent", "ua"),
            ("Cookie", "session=s; ab=b; other=o"),
            ("Accept-Encoding", "gzip, br"),
            ("If-None-Match", '"viewer"'),
            ("Range", "bytes=0-1"),
        ],
    )
    f = forwarded_request(r, p, orp)
    assert f.query == "utm=x&v=2"
    assert f.target == "/p?utm=x&v=2"
    assert f.headers.get("x-device") == "m"
    assert f.headers.get("x-trace") == "t1"
    assert "user-agent" not in f.headers
    assert f.headers.get("cookie") == "session=s; ab=b"
    assert f.headers.get("accept-encoding") == "gzip"
    assert "if-none-match" not in f.headers
    assert "range" not in f.headers
    # the extras of the origin request policy are not in the key
    k1 = key(r, p)
    k2 = key(
        req("/p?v=2", [("X-Device", "m"), ("Cookie", "session=s"), ("Accept-Encoding", "gzip")]), p
    )
    assert k1 == k2


def test_forwarded_all_viewer_and_raw_accept_encoding() -> None:
    orp = OriginRequestPolicy(headers="all_viewer", cookies="all", query_strings="all")
    r = req("/p?a&b=1", {"User-Agent": "ua", "Accept-Encoding": "gzip", "Cookie": "k=v"})
    f = forwarded_request(r, CachePolicy(), orp, method="HEAD")
    assert f.method == "HEAD"
    assert f.query == "a&b=1"
    assert f.headers.get("user-agent") == "ua"
    assert f.headers.get("accept-encoding") == "gzip"
    assert f.headers.get("cookie") == "k=v"
    none = forwarded_request(r, CachePolicy())
    assert len(none.headers) == 0
    assert none.query == ""
    assert none.target == "/p"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"headers": "some"}, "headers must be"),
        ({"headers": "allow"}, "non-empty"),
        ({"cookies": "bad"}, "cookies must be"),
    ],
)
def test_origin_request_policy_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        OriginRequestPolicy(**kwargs)  # type: ignore[arg-type]


def test_headers_container() -> None:
    h = Headers([("A", "1"), ("b", "2"), ("a", "3")])
    assert h.get("a") == "1, 3"
    assert h.get_all("A") == ["1", "3"]
    assert h.get("zz") is None
    assert h.get("zz", "d") == "d"
    assert len(h) == 3
    assert list(h) == [("A", "1"), ("b", "2"), ("a", "3")]
    assert h.names() == ["a", "b"]
    assert h == Headers(h)
    assert h != Headers({"A": "1"})
    assert hash(h) == hash(Headers(h.items))
    assert "Headers(" in repr(h)
    assert 3 not in h
    assert h.with_("a", "9").get_all("a") == ["9"]
    assert h.merged(Headers({"B": "x"})).get_all("b") == ["x"]
    r = Request.from_target("get", "/p?q=1", {"X": "1"})
    assert (r.method, r.target) == ("GET", "/p?q=1")
    assert Request("GET", "/p").target == "/p"
