"""LRU: least recently used, with a byte capacity (see :mod:`edgesim.cache.policies`)."""

from __future__ import annotations

from collections import OrderedDict

from edgesim.cache.base import (
    HIT,
    MISS,
    STALE,
    CacheStats,
    DictCache,
    _check_capacity,
    _check_size,
)


class LRUCache(DictCache):
    """Least-recently-used eviction with a byte capacity.

    An :class:`~collections.OrderedDict` maps key -> ``(size, expiry_ns)``; its first item
    is the least recently used. A HIT or STALE ``get`` moves the key to the MRU end; ``put``
    inserts at the MRU end and evicts from the LRU end until the new object fits.
    """

    policy: str = "lru"

    __slots__ = ("_d", "capacity_bytes", "stats", "used_bytes")

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = _check_capacity(capacity_bytes)
        self.used_bytes = 0
        self.stats = CacheStats()
        self._d: OrderedDict[int, tuple[int, int]] = OrderedDict()

    def keys(self) -> list[int]:
        """Cached keys from least to most recently used."""
        return list(self._d)

    def clear(self) -> None:
        self._d.clear()
        self.used_bytes = 0

    def peek(self, key: int) -> tuple[int, int] | None:
        return self._d.get(key)

    def get(self, key: int, now_ns: int) -> int:
        e = self._d.get(key)
        st = self.stats
        if e is None:
            st.misses += 1
            return MISS
        self._d.move_to_end(key)
        if e[1] > now_ns:
            st.hits += 1
            st.bytes_hit += e[0]
            return HIT
        st.stale += 1
        return STALE

    def put(self, key: int, size_bytes: int, expiry_ns: int, now_ns: int) -> bool:
        _check_size(size_bytes)
        st = self.stats
        st.bytes_missed += size_bytes
        d = self._d
        used = self.used_bytes
        old = d.pop(key, None)
        if old is not None:
            used -= old[0]
        cap = self.capacity_bytes
        if size_bytes > cap:
            self.used_bytes = used
            st.rejects += 1
            return False
        used += size_bytes
        popitem = d.popitem
        while used > cap:
            used -= popitem(False)[1][0]
            st.evictions += 1
        d[key] = (size_bytes, expiry_ns)
        self.used_bytes = used
        st.inserts += 1
        return True

    def remove(self, key: int) -> bool:
        old = self._d.pop(key, None)
        if old is None:
            return False
        self.used_bytes -= old[0]
        self.stats.invalidations += 1
        return True
