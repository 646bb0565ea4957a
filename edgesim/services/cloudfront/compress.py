"""CloudFront edge compression (``Compress: true``): which responses, which encoding, how big.

As AWS documents it ("Serve compressed files"):

* A behaviour with ``Compress`` compresses with **Brotli** when the viewer accepts ``br`` and
  the cache policy caches Brotli objects (``EnableAcceptEncodingBrotli``), else with **gzip**
  when the viewer accepts ``gzip``; a viewer accepting both gets Brotli. A request over
  HTTP/1.0 or without ``Accept-Encoding`` gets the uncompressed object.
* Only responses whose ``Content-Type`` is in CloudFront's list, whose ``Content-Length`` is
  given and between 1,000 and 10,000,000 bytes, and that have no ``Content-Encoding`` of their
  own are compressed.
* A strong ``ETag`` becomes weak (``W/`` in front); a weak one is kept; an invalid one is
  dropped.
* The compressed object is cached as its own variant (the cache key's normalised
  ``Accept-Encoding``: ``br``, ``gzip`` or none).

Live edges really compress (zlib's gzip, the ``brotli`` package). Runs use
:func:`compressed_size`: the ratio a format achieves on a kind of content is edgesim's
choice, written in docs/cloudfront-http.md.
"""

from __future__ import annotations

import gzip
from typing import Literal

import brotli  # type: ignore[import-untyped]

Encoding = Literal["br", "gzip"]

MIN_BYTES = 1_000
MAX_BYTES = 10_000_000

#: Content types CloudFront compresses (AWS: "File types that CloudFront compresses").
COMPRESSIBLE_TYPES = frozenset(
    {
        "application/dash+xml",
        "application/eot",
        "application/font",
        "application/font-sfnt",
        "application/javascript",
        "application/json",
        "application/opentype",
        "application/otf",
        "application/pkcs7-mime",
        "application/protobuf",
        "application/rss+xml",
        "application/truetype",
        "application/ttf",
        "application/vnd.apple.mpegurl",
        "application/vnd.ms-fontobject",
        "application/xhtml+xml",
        "application/xml",
        "application/x-font-opentype",
        "application/x-font-truetype",
        "application/x-font-ttf",
        "application/x-httpd-cgi",
        "application/x-javascript",
        "application/x-mpegurl",
        "application/x-opentype",
        "application/x-otf",
        "application/x-perl",
        "application/x-ttf",
        "font/eot",
        "font/opentype",
        "font/otf",
        "font/ttf",
        "image/svg+xml",
        "text/css",
        "text/csv",
        "text/html",
        "text/javascript",
        "text/js",
        "text/plain",
        "text/richtext",
        "text/tab-separated-values",
        "text/xml",
        "text/x-component",
        "text/x-java-source",
        "text/x-script",
        "vnd.apple.mpegurl",
    }
)


def _accepted(accept_encoding: str) -> set[str]:
    """Codings with a q-value above zero (RFC 9110 §12.5.3)."""
    out: set[str] = set()
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q > 0:
            out.add(name)
    return out


def choose_encoding(
    accept_encoding: str | None,
    *,
    compress: bool,
    brotli_cached: bool,
    http_version: str = "HTTP/1.1",
) -> Encoding | None:
    """The encoding CloudFront serves this viewer, or None for the uncompressed object."""
    if not compress or not accept_encoding or http_version == "HTTP/1.0":
        return None
    codings = _accepted(accept_encoding)
    if brotli_cached and "br" in codings:
        return "br"
    if "gzip" in codings:
        return "gzip"
    return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def compressible(
    status: int, content_type: str | None, content_length: int | None, content_encoding: str | None
) -> bool:
    """Whether CloudFront compresses this origin response."""
    if content_encoding or content_length is None:
        return False
    if not MIN_BYTES <= content_length <= MAX_BYTES:
        return False
    return 200 <= status < 300 and media_type(content_type) in COMPRESSIBLE_TYPES


def weak_etag(etag: str | None) -> str | None:
    """The ``ETag`` of a compressed response: strong → weak, weak kept, invalid dropped."""
    if etag is None:
        return None
    if etag.startswith("W/"):
        return etag
    if etag.startswith('"'):
        return "W/" + etag
    return None


def compress(body: bytes, encoding: Encoding) -> bytes:
    """Really compress a body (live edges)."""
    if encoding == "br":
        out: bytes = brotli.compress(body, quality=5)
        return out
    return gzip.compress(body, compresslevel=6, mtime=0)


#: Compressed size / original size by content family and encoding (edgesim's choice:
#: typical ratios of text web assets at the levels CDNs use on the fly; fonts and other
#: binary formats compress little).
RATIOS: dict[str, dict[Encoding, float]] = {
    "html": {"gzip": 0.25, "br": 0.21},
    "css": {"gzip": 0.22, "br": 0.19},
    "javascript": {"gzip": 0.30, "br": 0.26},
    "json": {"gzip": 0.20, "br": 0.17},
    "xml": {"gzip": 0.22, "br": 0.19},
    "svg": {"gzip": 0.35, "br": 0.31},
    "font": {"gzip": 0.60, "br": 0.55},
    "text": {"gzip": 0.35, "br": 0.30},
}


def family(content_type: str | None) -> str:
    t = media_type(content_type)
    if "html" in t:
        return "html"
    if t == "text/css":
        return "css"
    if "javascript" in t or t in ("text/js", "text/x-script"):
        return "javascript"
    if "json" in t or t == "application/protobuf":
        return "json"
    if t == "image/svg+xml":
        return "svg"
    if "font" in t or t.endswith(("otf", "ttf", "eot", "opentype", "truetype", "sfnt")):
        return "font"
    if "xml" in t:
        return "xml"
    return "text"


def compressed_size(size: int, content_type: str | None, encoding: Encoding) -> int:
    """The bytes a run sends for a compressed response of ``size`` bytes."""
    return max(1, round(size * RATIOS[family(content_type)][encoding]))
