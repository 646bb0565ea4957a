"""Byte-capacity object caches with LRU, SIEVE and S3-FIFO eviction.

The caches are I/O-free and keyed by ``int`` object ids. Every object has a size in bytes
and an absolute expiry time in nanoseconds; the cache never holds more than
``capacity_bytes`` bytes. They serve two callers:

* the simulator's hot path, which replays millions of requests through a tier with
  :meth:`Cache.process` (one loop of ``get``/``put`` calls shared by every policy,
  :func:`edgesim.cache.base.replay`; the LRU tiers use the compact, compiled
  :mod:`edgesim.cache.compact` instead);
* a live server, which calls :meth:`Cache.get` / :meth:`Cache.put` per request.

Policies
--------
``lru``
    Least recently used, on :class:`collections.OrderedDict` (first item = LRU).
``sieve``
    SIEVE: Yazhuo Zhang, Juncheng Yang, Yao Yue, Ymir Vigfusson, K. V. Rashmi, "SIEVE is
    Simpler than LRU: an Efficient Turn-Key Eviction Algorithm for Web Caches", USENIX
    NSDI 2024.
``s3-fifo``
    S3-FIFO: Juncheng Yang, Yazhuo Zhang, Ziyue Qiu, Yao Yue, K. V. Rashmi, "FIFO queues are
    all you need for cache eviction", ACM SOSP 2023. By default it follows libCacheSim's
    ``S3FIFO.c`` (https://github.com/1a1a11a/libCacheSim), the authors' reference
    implementation, which differs from the paper's Algorithm 1 in which queue evicts, in
    when M is trimmed after a promotion, and in how the cache fills up (see
    :class:`S3FIFOCache`); ``S3FIFOCache(..., variant="paper")`` is Algorithm 1 as written.
    On Zipf traces the two differ by a few tenths of a point of hit ratio.

Both papers describe object-count caches; here "the cache is full" means "the new object
does not fit in the free bytes", and a policy evicts (following its algorithm) until it
does. An object larger than the whole capacity is never admitted (``put`` returns False).

Semantics shared by all policies
--------------------------------
* ``get(key, now_ns)`` returns :data:`MISS` (0) if absent, :data:`HIT` (1) if present with
  ``expiry_ns > now_ns``, :data:`STALE` (2) if present but expired. A HIT or STALE is an
  access for the policy (LRU: move to MRU; SIEVE: set visited; S3-FIFO: freq + 1, capped
  at 3). Expired objects are not purged by ``get``: they stay until evicted or refreshed,
  as a CDN keeps stale objects for revalidation.
* ``put(key, size, expiry_ns, now_ns)`` inserts, or refreshes a present object (new size and
  expiry). A refresh is not an access by itself (``process`` calls ``get`` first, which is);
  LRU moves the refreshed object to MRU, SIEVE and S3-FIFO keep its queue position when the
  size does not grow. A refresh that *grows* the object re-inserts it at the head of its
  queue (after evicting others to make room), keeping its visited bit / frequency. A
  refresh with a size larger than the capacity drops the old copy and returns False.
* ``remove`` / ``remove_if`` invalidate without counting as evictions.
* ``stats.bytes_hit`` adds the stored size on every HIT; ``stats.bytes_missed`` adds the size
  handed to every ``put`` (an upstream fetch), admitted or not, so the byte hit ratio is
  ``bytes_hit / (bytes_hit + bytes_missed)`` for a ``process`` replay.

A cache's state depends only on its own sequence of calls (no clocks, no randomness).
Caches are not thread-safe. ``tests/core/test_cache.py`` checks each policy against a literal
reference model of its paper's pseudo-code (S3-FIFO: of Algorithm 1 for
``variant="paper"`` and of libCacheSim's ``S3FIFO.c`` for the default) and, when installed,
against libCacheSim: LRU, SIEVE and S3-FIFO give its hits and misses request by request on
Zipf traces (unit and variable sizes, capacities of 1 %, 3 % and 10 % of the catalogue).

Layout
------
One file per policy, as libCacheSim has one per algorithm: :mod:`edgesim.cache.lru`,
:mod:`edgesim.cache.sieve`, :mod:`edgesim.cache.s3fifo`. Each policy writes its logic once,
in ``get`` and ``put``; ``process`` is :func:`edgesim.cache.base.replay`, the same loop of
``get``/``put`` calls for every policy. :mod:`edgesim.cache.base` holds what they share; this
module the registry (:func:`make_cache`) and these docs. The scenario engine's LRU is
:mod:`edgesim.cache.compact` (same results, in numpy arrays with a compiled loop).
"""

from __future__ import annotations

from typing import Final

from edgesim.cache.base import (
    HIT,
    MISS,
    POLICIES,
    S3FIFO_VARIANTS,
    STALE,
    Cache,
    CacheStats,
    IntArray,
    replay,
)
from edgesim.cache.lru import LRUCache
from edgesim.cache.s3fifo import S3FIFOCache
from edgesim.cache.sieve import SieveCache

__all__ = [
    "HIT",
    "MISS",
    "POLICIES",
    "S3FIFO_VARIANTS",
    "STALE",
    "Cache",
    "CacheStats",
    "IntArray",
    "LRUCache",
    "S3FIFOCache",
    "SieveCache",
    "make_cache",
    "replay",
]

_ALIASES: Final[dict[str, str]] = {
    "lru": "lru",
    "sieve": "sieve",
    "s3-fifo": "s3-fifo",
    "s3fifo": "s3-fifo",
    "s3_fifo": "s3-fifo",
}


def make_cache(policy: str, capacity_bytes: int) -> Cache:
    """A new empty cache of ``capacity_bytes`` bytes with eviction ``policy``.

    ``policy`` is one of :data:`POLICIES` (``"lru"``, ``"sieve"``, ``"s3-fifo"``; case
    and ``s3fifo`` / ``s3_fifo`` spellings accepted). Raises ValueError otherwise, or for a
    negative capacity.
    """
    name = _ALIASES.get(policy.strip().lower()) if isinstance(policy, str) else None
    if name == "lru":
        return LRUCache(capacity_bytes)
    if name == "sieve":
        return SieveCache(capacity_bytes)
    if name == "s3-fifo":
        return S3FIFOCache(capacity_bytes)
    raise ValueError(f"unknown cache policy {policy!r}; expected one of {', '.join(POLICIES)}")
