"""Byte-capacity object caches (LRU, SIEVE, S3-FIFO) for the CDN tiers and the live server.

See :mod:`edgesim.cache.policies` for the semantics and the papers followed.
"""

from edgesim.cache.policies import (
    HIT,
    MISS,
    POLICIES,
    STALE,
    Cache,
    CacheStats,
    LRUCache,
    S3FIFOCache,
    SieveCache,
    make_cache,
)

__all__ = [
    "HIT",
    "MISS",
    "POLICIES",
    "STALE",
    "Cache",
    "CacheStats",
    "LRUCache",
    "S3FIFOCache",
    "SieveCache",
    "make_cache",
]
