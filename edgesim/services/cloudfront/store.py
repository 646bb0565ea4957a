"""An HTTP object store for one cache tier (spec §1.2 "Eviction", "After expiry").

:class:`HttpStore` keeps :class:`CachedObject` payloads beside one of the byte-capacity
eviction policies of :mod:`edgesim.cache.policies` (LRU by default, SIEVE, S3-FIFO).
Those caches are keyed by ``int``: the store uses :attr:`CacheKey.digest` and keeps the
full key text in the payload, so a digest collision is a miss, never another variant.
Evictions are observed by comparing the payload map with the policy's membership after
every ``put`` (nothing is added to ``policies.py``).

Freshness of a stored object at ``now_s`` (``age = initial_age + now - stored_at``):

* ``FRESH``: ``age < ttl`` → Hit;
* ``STALE_WHILE_REVALIDATE``: ``ttl <= age < ttl + stale-while-revalidate`` → serve the
  stale copy (Hit) and revalidate in the background;
* ``ERROR_HOLD``: stale, but the origin failed recently and the stale copy is being
  served for the error caching TTL (spec §1.6);
* ``STALE``: needs a conditional revalidation (``If-None-Match``/``If-Modified-Since``;
  a 304 is a RefreshHit, a 200 replaces the object).

Sizes count the body plus the stored header bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from edgesim.cache.policies import Cache, CacheStats, make_cache
from edgesim.services.cloudfront.invalidation import matches_any
from edgesim.services.cloudfront.key import CacheKey
from edgesim.services.cloudfront.message import Headers

__all__ = ["CachedObject", "Freshness", "HttpStore", "seconds_to_ns"]


def seconds_to_ns(t_s: float) -> int:
    """Seconds -> integer nanoseconds (the policies' clock), saturating at +/-inf."""
    if math.isinf(t_s):
        return (1 << 62) if t_s > 0 else -(1 << 62)
    return round(t_s * 1e9)


class Freshness(Enum):
    """State of a key in one tier at one instant."""

    MISS = "miss"
    FRESH = "fresh"
    STALE_WHILE_REVALIDATE = "stale-while-revalidate"
    ERROR_HOLD = "error-hold"
    STALE = "stale"


@dataclass(slots=True)
class CachedObject:
    """One stored response."""

    key: CacheKey
    status: int
    headers: Headers
    body: bytes | None
    """The payload, or None when only its size is modelled (the simulator)."""
    body_size: int
    stored_at_s: float
    ttl_s: float
    swr_s: float = 0.0
    sie_s: float | None = None
    """``stale-if-error``: None = not sent (stale served on errors), 0 = never."""
    initial_age_s: float = 0.0
    """Age the object already had when stored (from the upstream tier or ``Age``)."""
    head_only: bool = False
    """Stored from a HEAD: headers only, cannot answer a GET."""
    is_error: bool = False
    error_hold_until_s: float = -math.inf
    extra: dict[str, object] = field(default_factory=dict)
    """Free room for callers (not used by the store)."""

    @property
    def etag(self) -> str | None:
        """The stored ``ETag``."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The stored ``Last-Modified``."""
        return self.headers.get("last-modified")

    @property
    def has_validators(self) -> bool:
        """Whether a conditional revalidation is possible."""
        return self.etag is not None or self.last_modified is not None

    @property
    def size_bytes(self) -> int:
        """Bytes charged against the tier's capacity: body plus header lines."""
        return self.body_size + self.headers.byte_size()

    @property
    def expires_at_s(self) -> float:
        """When the object stops being fresh."""
        return self.stored_at_s + self.ttl_s - self.initial_age_s

    def age_s(self, now_s: float) -> float:
        """Current age (RFC 9111 §4.2.3, without clock-skew correction)."""
        return self.initial_age_s + max(0.0, now_s - self.stored_at_s)

    def age_header(self, now_s: float) -> str:
        """The ``Age`` header value: whole seconds, rounded down."""
        return str(math.floor(self.age_s(now_s)))

    def staleness_s(self, now_s: float) -> float:
        """Seconds past expiry (<= 0 while fresh)."""
        return self.age_s(now_s) - self.ttl_s

    def freshness(self, now_s: float) -> Freshness:
        """FRESH, STALE_WHILE_REVALIDATE, ERROR_HOLD or STALE (see the module docstring)."""
        over = self.staleness_s(now_s)
        if over < 0:
            return Freshness.FRESH
        if over < self.swr_s:
            return Freshness.STALE_WHILE_REVALIDATE
        if now_s < self.error_hold_until_s:
            return Freshness.ERROR_HOLD
        return Freshness.STALE

    def stale_if_error_ok(self, now_s: float) -> bool:
        """Whether this (stale) copy may be served because the origin failed.

        Without ``stale-if-error`` CloudFront serves an expired copy on a 5xx (spec
        §1.6); ``stale-if-error=N`` limits that to N seconds past expiry and
        ``stale-if-error=0`` suppresses it (spec §1.2).
        """
        if self.sie_s is None:
            return True
        return self.sie_s > 0 and self.staleness_s(now_s) <= self.sie_s


class HttpStore:
    """The HTTP objects of one cache tier with a byte capacity and an eviction policy."""

    def __init__(self, capacity_bytes: int, policy: str = "lru", name: str = "edge") -> None:
        self.name = name
        self.cache: Cache = make_cache(policy, capacity_bytes)
        self._objects: dict[int, CachedObject] = {}
        self.evicted: int = 0
        """Objects dropped by the eviction policy so far."""

    # -- introspection --------------------------------------------------------------
    @property
    def policy(self) -> str:
        """The eviction policy's name."""
        return self.cache.policy

    @property
    def capacity_bytes(self) -> int:
        """The byte capacity."""
        return self.cache.capacity_bytes

    @property
    def used_bytes(self) -> int:
        """Bytes currently stored."""
        return self.cache.used_bytes

    @property
    def stats(self) -> CacheStats:
        """The policy's counters (lookups, hits, evictions, ...)."""
        return self.cache.stats

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, CacheKey) and self.peek(key) is not None

    def __iter__(self) -> Iterator[CachedObject]:
        return iter(list(self._objects.values()))

    def peek(self, key: CacheKey) -> CachedObject | None:
        """The stored object for ``key`` (not an access), or None."""
        obj = self._objects.get(key.digest)
        if obj is None or obj.key.text != key.text:
            return None
        return obj

    # -- operations -----------------------------------------------------------------
    def lookup(self, key: CacheKey, now_s: float) -> tuple[Freshness, CachedObject | None]:
        """Look ``key`` up at ``now_s``; a found object counts as an access."""
        obj = self.peek(key)
        if obj is None:
            self.cache.stats.misses += 1
            return Freshness.MISS, None
        self.cache.get(key.digest, seconds_to_ns(now_s))
        return obj.freshness(now_s), obj

    def put(self, obj: CachedObject, now_s: float) -> bool:
        """Store (or replace) ``obj``; evicts per policy. False if it cannot fit at all."""
        digest = obj.key.digest
        ok = self.cache.put(
            digest, obj.size_bytes, seconds_to_ns(obj.expires_at_s), seconds_to_ns(now_s)
        )
        if ok:
            self._objects[digest] = obj
        else:
            self._objects.pop(digest, None)
        self._sync()
        return ok

    def _sync(self) -> None:
        if len(self._objects) == len(self.cache):
            return
        gone = [d for d in self._objects if d not in self.cache]
        for d in gone:
            del self._objects[d]
        self.evicted += len(gone)

    def remove(self, key: CacheKey) -> bool:
        """Drop ``key`` (an invalidation, not an eviction); True if it was stored."""
        if self.peek(key) is None:
            return False
        del self._objects[key.digest]
        self.cache.remove(key.digest)
        return True

    def remove_if(self, pred: Callable[[CachedObject], bool]) -> int:
        """Drop every object for which ``pred`` is true; return how many."""
        doomed = [d for d, o in self._objects.items() if pred(o)]
        for d in doomed:
            del self._objects[d]
            self.cache.remove(d)
        return len(doomed)

    def invalidate(self, paths: Iterable[str], distribution_id: str | None = None) -> int:
        """Remove objects covered by invalidation ``paths`` (spec §1.8); return how many.

        ``distribution_id`` limits the removal to that distribution's keys (a tier
        shared by several distributions).
        """
        ps = tuple(paths)

        def hit(o: CachedObject) -> bool:
            if distribution_id is not None and o.key.distribution_id != distribution_id:
                return False
            return matches_any(ps, o.key.path, o.key.query)

        return self.remove_if(hit)

    def clear(self) -> None:
        """Drop everything."""
        self._objects.clear()
        self.cache.clear()
