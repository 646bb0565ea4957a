"""Cache keys and what is forwarded to the origin (spec §1.3).

The key is the distribution plus the URL path, the method class (``OPTIONS`` responses
are keyed separately; GET and HEAD share a key) and whatever the cache policy adds:
named headers (full values), cookies and query strings (none / all / allow-list /
all-except) and the normalised ``Accept-Encoding``. Everything in the key is forwarded to
the origin; an :class:`OriginRequestPolicy` forwards more without adding it to the key.

Keys are canonical JSON strings (unambiguous, stable across processes) with a 64-bit
digest (:func:`key_digest`, BLAKE2b) for the integer-keyed caches of
:mod:`edgesim.cache.policies`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Final, Literal

from edgesim.services.cloudfront.message import Headers, Request
from edgesim.services.cloudfront.ttl import CachePolicy, ListMode

__all__ = [
    "CacheKey",
    "OriginRequest",
    "OriginRequestPolicy",
    "build_cache_key",
    "forwarded_request",
    "key_digest",
    "normalise_accept_encoding",
    "parse_cookies",
    "parse_query",
]

_LIST_MODES: Final = ("none", "all", "allow", "all_except")
_NEVER_FORWARDED: Final = frozenset(
    {
        "cookie",
        "accept-encoding",
        "range",
        "if-range",
        "if-none-match",
        "if-modified-since",
        "if-match",
        "if-unmodified-since",
    }
)
HeaderMode = Literal["none", "allow", "all_viewer"]


def key_digest(text: str) -> int:
    """A stable signed 64-bit integer digest of a key (fits numpy ``int64``)."""
    raw = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(raw, "big", signed=True)


def parse_query(query: str) -> list[tuple[str, str]]:
    """``a=1&b&c=`` -> ``[("a", "1"), ("b", ""), ("c", "")]`` (raw, not percent-decoded).

    Empty segments (``a=1&&b=2``) are dropped.
    """
    out: list[tuple[str, str]] = []
    for seg in query.split("&"):
        if seg:
            name, _, value = seg.partition("=")
            out.append((name, value))
    return out


def parse_cookies(headers: Headers) -> list[tuple[str, str]]:
    """Cookies of every ``Cookie`` line as ``(name, value)`` pairs, in order."""
    out: list[tuple[str, str]] = []
    for line in headers.get_all("cookie"):
        for part in line.split(";"):
            part = part.strip()
            if part:
                name, _, value = part.partition("=")
                out.append((name.strip(), value.strip()))
    return out


def _select(
    pairs: list[tuple[str, str]], mode: str, names: tuple[str, ...]
) -> list[tuple[str, str]]:
    if mode == "none":
        return []
    if mode == "all":
        chosen = pairs
    elif mode == "allow":
        chosen = [p for p in pairs if p[0] in names]
    else:  # all_except
        chosen = [p for p in pairs if p[0] not in names]
    # edgesim's choice: order-insensitive (sorted by name; stable for repeated names).
    return sorted(chosen, key=lambda p: p[0])


def _accepted_codings(value: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in value.split(","):
        coding, *params = (s.strip() for s in item.split(";"))
        if not coding:
            continue
        q = 1.0
        for p in params:
            name, _, val = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        out.setdefault(coding.lower(), q)
    return out


def normalise_accept_encoding(value: str | None, *, gzip: bool, brotli: bool) -> str:
    """CloudFront's normalised ``Accept-Encoding``: ``br,gzip``, ``br``, ``gzip`` or ``""``.

    Only the codings enabled in the cache policy survive; a coding with ``q=0`` is not
    accepted; ``*`` accepts every coding not listed explicitly (RFC 9110 §12.5.3).
    ``""`` is the identity bucket (no compression). The normalised value is both the key
    component and the header forwarded to the origin, so a variant compressed for one
    bucket is never served to another.
    """
    if not value:
        return ""
    acc = _accepted_codings(value)
    star = acc.get("*", 0.0) > 0

    def ok(c: str) -> bool:
        return acc[c] > 0 if c in acc else star

    picked = [c for c, on in (("br", brotli), ("gzip", gzip)) if on and ok(c)]
    return ",".join(picked)


@dataclass(frozen=True)
class OriginRequestPolicy:
    """What is forwarded to the origin in addition to the key (spec §1.3).

    ``headers``: ``none``, ``allow`` (the named ``header_names``) or ``all_viewer``;
    cookies and query strings take the same four modes as a cache policy.
    """

    name: str = "custom"
    headers: HeaderMode = "none"
    header_names: tuple[str, ...] = ()
    cookies: ListMode = "none"
    cookie_names: tuple[str, ...] = ()
    query_strings: ListMode = "none"
    query_string_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.headers not in ("none", "allow", "all_viewer"):
            raise ValueError(f"headers must be none, allow or all_viewer, got {self.headers!r}")
        if self.headers == "allow" and not self.header_names:
            raise ValueError("headers='allow' needs a non-empty list of header names")
        for label, mode in (("cookies", self.cookies), ("query_strings", self.query_strings)):
            if mode not in _LIST_MODES:
                raise ValueError(f"{label} must be one of {', '.join(_LIST_MODES)}, got {mode!r}")
        object.__setattr__(self, "header_names", tuple(h.lower() for h in self.header_names))


@dataclass(frozen=True)
class CacheKey:
    """A cache key: canonical ``text``, its 64-bit ``digest`` and the parts invalidation
    matches (``path`` and the key's query string)."""

    text: str
    digest: int
    path: str
    query: str
    method_class: str
    distribution_id: str = ""


def _method_class(method: str) -> str:
    return "OPTIONS" if method.upper() == "OPTIONS" else "GET"


def build_cache_key(distribution_id: str, request: Request, policy: CachePolicy) -> CacheKey:
    """The cache key of ``request`` under ``policy``.

    Two requests differing only in something the policy leaves out share the key; any
    difference in a key header value (a missing header differs from an empty one), key
    cookie, key query parameter or ``Accept-Encoding`` bucket gives different keys.
    """
    qs = _select(parse_query(request.query), policy.query_strings, policy.query_string_names)
    hdrs: list[list[str | None]] = [
        [name, request.headers.get(name)] for name in sorted(set(policy.headers))
    ]
    cookies = _select(parse_cookies(request.headers), policy.cookies, policy.cookie_names)
    ae = None
    if policy.normalises_accept_encoding:
        ae = normalise_accept_encoding(
            request.headers.get("accept-encoding"),
            gzip=policy.accept_encoding_gzip,
            brotli=policy.accept_encoding_brotli,
        )
    mclass = _method_class(request.method)
    doc = [
        "v1",
        distribution_id,
        mclass,
        request.path,
        [list(p) for p in qs],
        hdrs,
        [list(p) for p in cookies],
        ae,
    ]
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    query = "&".join(f"{k}={v}" if v else k for k, v in qs)
    return CacheKey(text, key_digest(text), request.path, query, mclass, distribution_id)


@dataclass(frozen=True)
class OriginRequest:
    """The request CloudFront sends to the origin (without connection-level headers)."""

    method: str
    path: str
    query: str
    headers: Headers

    @property
    def target(self) -> str:
        """``path`` plus ``?query`` when there is one."""
        return f"{self.path}?{self.query}" if self.query else self.path


def forwarded_request(
    request: Request,
    policy: CachePolicy,
    origin_policy: OriginRequestPolicy | None = None,
    *,
    method: str | None = None,
) -> OriginRequest:
    """What reaches the origin: the key items plus the origin request policy's extras.

    Query parameters and cookies keep the viewer's order; headers are the viewer's lines
    of every forwarded name, plus the normalised ``Accept-Encoding`` when the policy
    normalises it. Conditional and ``Range`` headers are never forwarded from the viewer
    (the pipeline adds its own when revalidating).
    """
    orp = origin_policy or OriginRequestPolicy()

    def wanted(name: str, mode: str, names: tuple[str, ...]) -> bool:
        return (
            mode == "all"
            or (mode == "allow" and name in names)
            or (mode == "all_except" and name not in names)
        )

    query = "&".join(
        seg
        for seg in request.query.split("&")
        if seg
        and (
            wanted(seg.partition("=")[0], policy.query_strings, policy.query_string_names)
            or wanted(seg.partition("=")[0], orp.query_strings, orp.query_string_names)
        )
    )
    names = set(policy.headers)
    if orp.headers == "allow":
        names |= set(orp.header_names)
    all_viewer = orp.headers == "all_viewer"
    never = _NEVER_FORWARDED
    out: list[tuple[str, str]] = [
        (k, v)
        for k, v in request.headers
        if k.lower() not in never and (all_viewer or k.lower() in names)
    ]
    if policy.normalises_accept_encoding:
        ae = normalise_accept_encoding(
            request.headers.get("accept-encoding"),
            gzip=policy.accept_encoding_gzip,
            brotli=policy.accept_encoding_brotli,
        )
        if ae:
            out.append(("Accept-Encoding", ae))
    elif "accept-encoding" in request.headers and (all_viewer or "accept-encoding" in names):
        out.append(("Accept-Encoding", request.headers.get("accept-encoding") or ""))
    cookies = [
        (k, v)
        for k, v in parse_cookies(request.headers)
        if wanted(k, policy.cookies, policy.cookie_names)
        or wanted(k, orp.cookies, orp.cookie_names)
    ]
    if cookies:
        out.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies)))
    return OriginRequest(method or request.method, request.path, query, Headers(out))
