"""CloudFront compression rules as AWS's "Serve compressed files" page states them."""

from __future__ import annotations

import gzip

import brotli
import pytest

from edgesim.services.cloudfront import compress as c


@pytest.mark.parametrize(
    ("accept", "brotli_cached", "version", "expected"),
    [
        ("gzip, deflate, br", True, "HTTP/1.1", "br"),  # both accepted: Brotli
        ("gzip, deflate, br", False, "HTTP/1.1", "gzip"),  # Brotli objects not cached
        ("br", False, "HTTP/1.1", None),
        ("gzip;q=0, br;q=0.5", True, "HTTP/2.0", "br"),
        ("br;q=0, gzip", True, "HTTP/1.1", "gzip"),  # q=0 refuses a coding
        ("deflate, sdch", True, "HTTP/1.1", None),
        ("", True, "HTTP/1.1", None),
        (None, True, "HTTP/1.1", None),
        ("gzip, br", True, "HTTP/1.0", None),  # HTTP/1.0: uncompressed
    ],
)
def test_encoding_choice(
    accept: str | None, brotli_cached: bool, version: str, expected: str | None
) -> None:
    got = c.choose_encoding(
        accept, compress=True, brotli_cached=brotli_cached, http_version=version
    )
    assert got == expected
    assert c.choose_encoding(accept, compress=False, brotli_cached=True) is None


@pytest.mark.parametrize(
    ("status", "ctype", "length", "encoding", "expected"),
    [
        (200, "text/html; charset=utf-8", 5_000, None, True),
        (200, "application/json", 1_000, None, True),  # the bounds are inclusive
        (200, "application/json", 10_000_000, None, True),
        (200, "application/json", 999, None, False),
        (200, "application/json", 10_000_001, None, False),
        (200, "text/css", None, None, False),  # no Content-Length: not compressed
        (200, "text/css", 5_000, "gzip", False),  # the origin compressed it already
        (200, "text/css", 5_000, "identity", False),  # any Content-Encoding, whatever value
        (200, "image/png", 50_000, None, False),  # not in CloudFront's list
        (200, "image/svg+xml", 5_000, None, True),
        (404, "text/html", 5_000, None, False),
    ],
)
def test_what_is_compressed(
    status: int, ctype: str, length: int | None, encoding: str | None, expected: bool
) -> None:
    assert c.compressible(status, ctype, length, encoding) is expected


def test_etag_conversion() -> None:
    assert c.weak_etag('"abc"') == 'W/"abc"'
    assert c.weak_etag('W/"abc"') == 'W/"abc"'
    assert c.weak_etag("abc") is None
    assert c.weak_etag(None) is None


def test_real_compression_round_trips() -> None:
    body = b"<html>" + b"<p>hello edge</p>" * 500 + b"</html>"
    gz = c.compress(body, "gzip")
    br = c.compress(body, "br")
    assert gzip.decompress(gz) == body
    assert brotli.decompress(br) == body
    assert len(br) < len(body) / 4
    assert c.compress(body, "gzip") == gz  # deterministic (no timestamp in the gzip header)


def test_run_sizes() -> None:
    assert c.compressed_size(100_000, "text/html", "br") < c.compressed_size(
        100_000, "text/html", "gzip"
    )
    assert c.compressed_size(100_000, "font/woff2-like-font/ttf", "gzip") == 60_000
    assert c.compressed_size(1, "text/css", "br") == 1
    assert c.family("application/x-javascript") == "javascript"
    assert c.family("application/rss+xml") == "xml"
