"""Range requests (services.cloudfront.ranges): RFC 9110 §14 with CloudFront's rules (spec §1.9)."""

from __future__ import annotations

import pytest

from edgesim.services.cloudfront.ranges import (
    MAX_CACHEABLE_OBJECT_BYTES,
    ByteRange,
    evaluate_range,
    multipart_body,
    slice_body,
)

L = 1000


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, 999),
        ("bytes=-100", 900, 999),  # suffix
        ("bytes=-5000", 0, 999),  # suffix longer than the object: whole object
        ("bytes=900-5000", 900, 999),  # last beyond the end: clamped
        ("bytes=999-999", 999, 999),
        ("BYTES = 0-0", 0, 0),
        ("bytes= 10-19 ", 10, 19),
    ],
)
def test_single_range(header: str, first: int, last: int) -> None:
    d = evaluate_range(header, L)
    assert (d.kind, d.status) == ("single", 206)
    assert d.ranges == (ByteRange(first, last),)
    assert d.content_range == f"bytes {first}-{last}/{L}"


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-1000"]
)
def test_unsatisfiable(header: str) -> None:
    d = evaluate_range(header, L)
    assert (d.kind, d.status, d.content_range) == ("unsatisfiable", 416, "bytes */1000")


def test_empty_object_every_range_unsatisfiable() -> None:
    assert evaluate_range("bytes=0-", 0).status == 416
    assert evaluate_range("bytes=-1", 0).status == 416


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "bytes=5-2",  # last < first
        "bytes=-",
        "bytes=",
        "bytes=0-1,",
        "bytes=0-1,,5-6",
        "bytes=1-2-3",
        "bytes=0x10-20",
        "bytes 0-10",  # no '='
        "items=0-10",  # other unit: ignored
        "bytes=0-99,50-150",  # overlapping
        "bytes=500-600,0-99",  # non-ascending
        "bytes=0-99,99-150",  # overlapping by one byte
        "bytes=-100,0-10",  # suffix resolves before an earlier range
        "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(9)),  # > 8 ranges
        "bytes=0-1" + " " * 1100,  # header > 1 KB
    ],
)
def test_malformed_or_abusive_served_in_full(header: str) -> None:
    d = evaluate_range(header, L)
    assert (d.kind, d.status, d.content_range) == ("full", 200, None)


def test_no_header_is_full() -> None:
    assert evaluate_range(None, L).status == 200


def test_multi_range_well_formed() -> None:
    d = evaluate_range("bytes=0-9,20-29,-10", L)
    assert (d.kind, d.status) == ("multipart", 206)
    assert d.ranges == (ByteRange(0, 9), ByteRange(20, 29), ByteRange(990, 999))
    assert d.content_range is None
    # exactly 8 ranges is still accepted
    eight = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(8))
    assert evaluate_range(eight, L).kind == "multipart"


def test_multi_range_drops_unsatisfiable_parts() -> None:
    d = evaluate_range("bytes=0-9,5000-6000", L)
    assert (d.kind, d.ranges) == ("single", (ByteRange(0, 9),))
    assert evaluate_range("bytes=2000-,5000-6000", L).status == 416


def test_if_range() -> None:
    etag, lm = '"v1"', "Sun, 06 Nov 1994 08:49:37 GMT"
    kw = {"etag": etag, "last_modified": lm}
    assert evaluate_range("bytes=0-1", L, if_range='"v1"', **kw).status == 206
    assert evaluate_range("bytes=0-1", L, if_range='"v2"', **kw).status == 200
    assert evaluate_range("bytes=0-1", L, if_range='W/"v1"', **kw).status == 200  # weak: no
    assert evaluate_range("bytes=0-1", L, if_range='"v1"').status == 200
    assert evaluate_range("bytes=0-1", L, if_range=lm, **kw).status == 206
    assert (
        evaluate_range("bytes=0-1", L, if_range="Mon, 07 Nov 1994 08:49:37 GMT", **kw).status == 200
    )


def test_multipart_body() -> None:
    body = bytes(range(100))
    rs = (ByteRange(0, 1), ByteRange(10, 12))
    payload, size, ctype = multipart_body(body, rs, 100, "application/octet-stream", "B")
    assert ctype == "multipart/byteranges; boundary=B"
    assert payload is not None
    assert len(payload) == size
    assert b"\r\n--B\r\nContent-Type: application/octet-stream\r\n" in payload
    assert b"Content-Range: bytes 0-1/100\r\n\r\n\x00\x01" in payload
    assert b"Content-Range: bytes 10-12/100\r\n\r\n\x0a\x0b\x0c" in payload
    assert payload.endswith(b"\r\n--B--\r\n")
    none, size2, _ = multipart_body(None, rs, 100, "application/octet-stream", "B")
    assert none is None
    assert size2 == size
    nct, _, _ = multipart_body(body, rs, 100, None, "B")
    assert nct is not None
    assert b"Content-Type" not in nct
    assert slice_body(body, ByteRange(5, 7)) == b"\x05\x06\x07"
    assert ByteRange(5, 7).size == 3


def test_largest_cacheable_object() -> None:
    assert MAX_CACHEABLE_OBJECT_BYTES == 30 * 1024**3
