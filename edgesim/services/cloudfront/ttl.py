"""Cache policies and the TTL decision for an origin response (spec §1.2, §1.3, §1.6).

:func:`decide_ttl` answers, for one origin response, whether CloudFront stores it and for
how long, following the precedence table of spec §1.2:

=================================  ======================  ==============================
origin header                      MinTTL = 0              MinTTL > 0
=================================  ======================  ==============================
``max-age``/``s-maxage`` = X       min(X, Max)             clamp(X, Min, Max)
``Expires``                        until Expires, <= Max   clamped to [Min, Max]
none                               Default                 max(Min, Default)
``no-cache``/``no-store``/         not cached              cached for MinTTL (stale copy
``private``                                                served if the origin is later
                                                           unreachable, unless
                                                           ``stale-if-error=0``)
=================================  ======================  ==============================

``s-maxage`` beats ``max-age``; ``max-age`` beats ``Expires``. Error statuses follow
:func:`error_ttl_s` (AWS pages "How CloudFront processes HTTP 4xx and 5xx status codes from
your origin" and "Control how long CloudFront caches errors").
Choices where the spec is silent are marked "edgesim's choice" here and in
``docs/cloudfront-http.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from edgesim.services.cloudfront.message import HeaderInput, Headers, parse_http_date

__all__ = [
    "ALWAYS_CACHED_ERRORS",
    "CACHEABLE_METHODS",
    "CACHING_DISABLED",
    "CACHING_OPTIMIZED",
    "CONDITIONALLY_CACHED_ERRORS",
    "DEFAULT_ERROR_CACHING_MIN_TTL_S",
    "HEURISTICALLY_CACHEABLE",
    "MAX_DELTA_SECONDS",
    "CacheDecision",
    "CachePolicy",
    "ListMode",
    "decide_ttl",
    "delta_seconds",
    "error_ttl_s",
    "parse_cache_control",
]

ListMode = Literal["none", "all", "allow", "all_except"]
"""How query strings or cookies enter the key: none, all, an allow-list, all except a list."""
_MODES: Final = ("none", "all", "allow", "all_except")

DEFAULT_ERROR_CACHING_MIN_TTL_S: Final = 10.0
"""Spec §1.6: the error caching minimum TTL defaults to 10 s."""
ALWAYS_CACHED_ERRORS: Final = frozenset({404, 414, 500, 501, 502, 503, 504})
"""Spec §1.6: cached even without ``max-age``/``s-maxage``."""
CONDITIONALLY_CACHED_ERRORS: Final = frozenset({400, 403, 405, 412, 415})
"""Spec §1.6: cached only when the origin sent ``max-age``/``s-maxage``."""
HEURISTICALLY_CACHEABLE: Final = frozenset({200, 203, 204, 206, 300, 301, 308})
"""Non-error statuses cached by the §1.2 table even without freshness headers
(RFC 9110 §15.1 "heuristically cacheable"; edgesim's choice). Other non-error statuses
(201, 202, 302, 303, 307, ...) are cached only with explicit ``s-maxage``/``max-age``/
``Expires``; a 304 or 1xx never is. 4xx/5xx statuses follow §1.6 only (so 410, 401,
416, ... are never cached)."""
CACHEABLE_METHODS: Final = frozenset({"GET", "HEAD"})
"""Spec §1.3: only GET and HEAD (and OPTIONS when the behaviour caches it) are cached."""
MAX_DELTA_SECONDS: Final = 2_147_483_648
"""RFC 9111 §1.2.2: larger delta-seconds are read as this value."""


@dataclass(frozen=True)
class CachePolicy:
    """A CloudFront cache policy: TTLs and cache-key settings (spec §1.2, §1.3).

    Names in ``headers`` are compared case-insensitively; cookie and query-string names
    are case-sensitive (as in CloudFront). The constructor checks
    ``0 <= min_ttl_s <= default_ttl_s <= max_ttl_s`` as the CloudFront API does.
    """

    name: str = "custom"
    min_ttl_s: float = 0.0
    default_ttl_s: float = 86_400.0
    max_ttl_s: float = 31_536_000.0
    query_strings: ListMode = "none"
    query_string_names: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    cookies: ListMode = "none"
    cookie_names: tuple[str, ...] = ()
    accept_encoding_gzip: bool = False
    accept_encoding_brotli: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.min_ttl_s <= self.default_ttl_s <= self.max_ttl_s:
            raise ValueError(
                "cache policy TTLs must satisfy 0 <= min <= default <= max, got "
                f"min={self.min_ttl_s} default={self.default_ttl_s} max={self.max_ttl_s}"
            )
        for label, mode, names in (
            ("query_strings", self.query_strings, self.query_string_names),
            ("cookies", self.cookies, self.cookie_names),
        ):
            if mode not in _MODES:
                raise ValueError(f"{label} must be one of {', '.join(_MODES)}, got {mode!r}")
            if mode in ("allow", "all_except") and not names:
                raise ValueError(f"{label}={mode!r} needs a non-empty list of names")
            if mode in ("none", "all") and names:
                raise ValueError(f"{label}={mode!r} takes no list of names")
        object.__setattr__(self, "headers", tuple(h.lower() for h in self.headers))
        if "accept-encoding" in self.headers and (
            self.accept_encoding_gzip or self.accept_encoding_brotli
        ):
            raise ValueError(
                "Accept-Encoding cannot be a key header when its normalisation is enabled"
            )

    @property
    def caching_disabled(self) -> bool:
        """True when nothing can be cached (MaxTTL 0, as in ``CachingDisabled``)."""
        return self.max_ttl_s == 0

    @property
    def normalises_accept_encoding(self) -> bool:
        """True when either compression flag is on."""
        return self.accept_encoding_gzip or self.accept_encoding_brotli


CACHING_OPTIMIZED: Final = CachePolicy(
    name="CachingOptimized",
    min_ttl_s=1.0,
    default_ttl_s=86_400.0,
    max_ttl_s=31_536_000.0,
    accept_encoding_gzip=True,
    accept_encoding_brotli=True,
)
"""The managed ``CachingOptimized`` policy (MinTTL 1 s, spec §1.2)."""
CACHING_DISABLED: Final = CachePolicy(
    name="CachingDisabled", min_ttl_s=0.0, default_ttl_s=0.0, max_ttl_s=0.0
)
"""The managed ``CachingDisabled`` policy (every TTL 0)."""


def parse_cache_control(value: str | None) -> dict[str, str | None]:
    """Directives of a ``Cache-Control`` value: lower-cased name -> value (unquoted) or None.

    When a directive repeats, the first occurrence is kept (RFC 9111 §4.2.1 allows that;
    edgesim's choice). Commas inside quoted strings are respected.
    """
    out: dict[str, str | None] = {}
    if not value:
        return out
    parts: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    for part in parts:
        name, eq, arg = part.strip().partition("=")
        name = name.strip().lower()
        if not name or name in out:
            continue
        arg = arg.strip()
        if len(arg) >= 2 and arg[0] == arg[-1] == '"':
            arg = arg[1:-1]
        out[name] = arg if eq else None
    return out


def delta_seconds(cc: Mapping[str, str | None], name: str) -> int | None:
    """The delta-seconds of directive ``name``: None if absent, 0 if invalid.

    RFC 9111 §4.2.1 encourages treating invalid freshness information as stale, so a
    malformed value (``max-age=abc``, ``max-age`` without a value, negative) reads as 0
    (edgesim's choice); values beyond 2^31 saturate (RFC 9111 §1.2.2).
    """
    if name not in cc:
        return None
    raw = cc[name]
    if raw is None or not raw.isdigit():
        return 0
    return min(int(raw), MAX_DELTA_SECONDS)


@dataclass(frozen=True)
class CacheDecision:
    """Whether an origin response is stored, and its freshness parameters (seconds)."""

    cacheable: bool
    ttl_s: float
    """Freshness lifetime; 0 for a stored object that must be revalidated on each use."""
    rule: str
    """Which rule decided: ``s-maxage``, ``max-age``, ``expires``, ``default``,
    ``no-cache`` (no-cache/no-store/private), ``error``, ``status``, ``method``,
    ``caching-disabled``."""
    swr_s: float = 0.0
    """``stale-while-revalidate`` window after expiry (0 when absent)."""
    sie_s: float | None = None
    """``stale-if-error`` window after expiry; None when absent (stale copies are then
    served on origin errors without time limit, spec §1.6); 0 suppresses stale-on-error."""
    is_error: bool = False
    """True for a 4xx/5xx cached under the error-caching rules of §1.6."""


def _explicit_max_age(cc: Mapping[str, str | None]) -> tuple[int | None, str]:
    sm = delta_seconds(cc, "s-maxage")
    if sm is not None:
        return sm, "s-maxage"
    return delta_seconds(cc, "max-age"), "max-age"


ERRORS_HONOURING_NO_STORE: Final = frozenset({404, 410, 414, 501})
"""Error statuses for which ``no-store``/``no-cache``/``private`` prevent caching (AWS page
"Control how long CloudFront caches errors"); for every other error these are ignored."""


def error_ttl_s(
    policy: CachePolicy,
    status: int,
    headers: HeaderInput | None,
    now_s: float,
    error_caching_min_ttl_s: float = DEFAULT_ERROR_CACHING_MIN_TTL_S,
) -> float | None:
    """How long CloudFront caches an error answer (seconds), or None when it is not cached.

    ``headers`` are the origin's response headers, or None when the origin did not answer
    (connection failure, timeout): the answer CloudFront generates then has no freshness
    headers, so it is cached for the Error Caching Minimum TTL alone. The rule, from the AWS
    pages "How CloudFront processes HTTP 4xx and 5xx status codes from your origin" and
    "Control how long CloudFront caches errors":

    * only 404, 414 and 500-504 are cached without freshness headers; 400, 403, 405, 412
      and 415 only when the origin sent ``max-age``/``s-maxage``; nothing else (410, 416,
      429, ...) is cached;
    * with ``max-age``, ``s-maxage`` or ``Expires`` the error is cached for the larger of
      that value (``max-age``/``s-maxage`` capped at the behaviour's maximum TTL) and the
      Error Caching Minimum TTL;
    * ``no-store``, ``no-cache`` or ``private`` prevent caching of 404, 410, 414 and 501
      and are ignored for every other status;
    * any other directive, or no header at all: the Error Caching Minimum TTL.
    """
    h = (
        Headers(())
        if headers is None
        else (headers if isinstance(headers, Headers) else Headers(headers))
    )
    cc = parse_cache_control(h.get("cache-control"))
    x, _ = _explicit_max_age(cc)
    if not (
        status in ALWAYS_CACHED_ERRORS or (status in CONDITIONALLY_CACHED_ERRORS and x is not None)
    ):
        return None
    if status in ERRORS_HONOURING_NO_STORE and (
        "no-store" in cc or "no-cache" in cc or "private" in cc
    ):
        return None
    explicit = 0.0
    if x is not None:
        explicit = min(float(x), float(policy.max_ttl_s))
    elif h.get("expires") is not None:
        exp = parse_http_date(h.get("expires"))
        date = parse_http_date(h.get("date"))
        if exp is not None:
            explicit = max(0.0, exp - (date if date is not None else now_s))
    ttl = max(float(error_caching_min_ttl_s), explicit)
    return ttl if ttl > 0 else None


def decide_ttl(
    policy: CachePolicy,
    status: int,
    headers: HeaderInput,
    now_s: float,
    *,
    method: str = "GET",
    cache_options: bool = False,
    error_caching_min_ttl_s: float = DEFAULT_ERROR_CACHING_MIN_TTL_S,
) -> CacheDecision:
    """Decide whether and how long CloudFront caches one origin response.

    ``now_s`` is the time the response was received (epoch seconds); ``Expires`` is read
    relative to the response's ``Date`` header when valid, else relative to ``now_s``.
    An ``Expires`` that is not a valid HTTP-date means "already expired" (RFC 9111
    §5.3). See the module docstring for the table.
    """
    h = headers if isinstance(headers, Headers) else Headers(headers)
    cc = parse_cache_control(h.get("cache-control"))
    swr = float(delta_seconds(cc, "stale-while-revalidate") or 0)
    sie_raw = delta_seconds(cc, "stale-if-error")
    sie = None if sie_raw is None else float(sie_raw)

    def no(rule: str) -> CacheDecision:
        return CacheDecision(False, 0.0, rule, swr, sie)

    m = method.upper()
    if m not in CACHEABLE_METHODS and not (m == "OPTIONS" and cache_options):
        return no("method")
    if policy.caching_disabled:
        return no("caching-disabled")

    x, which = _explicit_max_age(cc)
    if status >= 400:
        ttl_err = error_ttl_s(policy, status, h, now_s, error_caching_min_ttl_s)
        if ttl_err is None:
            return no("status")
        return CacheDecision(True, ttl_err, "error", 0.0, 0.0, is_error=True)

    lo, hi = float(policy.min_ttl_s), float(policy.max_ttl_s)

    def clamp(v: float) -> float:
        return min(max(v, lo), hi)

    if "no-cache" in cc or "no-store" in cc or "private" in cc:
        if lo > 0:
            return CacheDecision(True, lo, "no-cache", swr, sie)
        return no("no-cache")
    if status in (304,) or status < 200:
        return no("status")
    if x is not None:
        return CacheDecision(True, clamp(float(x)), which, swr, sie)
    expires_raw = h.get("expires")
    if expires_raw is not None:
        exp = parse_http_date(expires_raw)
        if exp is None:
            lifetime = 0.0
        else:
            date = parse_http_date(h.get("date"))
            lifetime = max(0.0, exp - (date if date is not None else now_s))
        return CacheDecision(True, clamp(lifetime), "expires", swr, sie)
    if status not in HEURISTICALLY_CACHEABLE:
        return no("status")
    return CacheDecision(True, max(lo, float(policy.default_ttl_s)), "default", swr, sie)
