"""SIEVE (Zhang et al., NSDI 2024) with a byte capacity (see :mod:`edgesim.cache.policies`)."""

from __future__ import annotations

from collections import deque

from edgesim.cache.base import (
    _COMPACT_SLACK,
    _DEAD,
    HIT,
    MISS,
    STALE,
    CacheStats,
    DictCache,
    _check_capacity,
    _check_size,
)


class SieveCache(DictCache):
    """SIEVE eviction (Zhang et al., "SIEVE is Simpler than LRU", NSDI 2024), byte capacity.

    The paper's algorithm: one FIFO queue (new objects at the head), one visited bit per
    object and a *hand*. A hit sets the visited bit (nothing moves). To evict, the hand
    walks from the tail towards the head: a visited object has its bit reset and stays in
    place; the first unvisited object is evicted and the hand stays at the next position
    (towards the head). When the hand passes the head it wraps round to the tail.

    Representation: the queue is split at the hand into two deques, ``_a`` (from the hand to
    the head, i.e. not yet passed in this sweep; new objects are appended here) and ``_b``
    (from the tail up to the hand: objects the hand already passed and kept, in queue order).
    The full queue tail→head is ``_b + _a`` and the hand is ``_a[0]``. Examining the hand is
    ``_a.popleft()``; a kept object is appended to ``_b``; when ``_a`` runs out the hand wraps:
    ``_a, _b = _b, []``. Every step is O(1) with no pointer chasing in Python.

    Each entry is a list ``[expiry_ns, size, visited, key]``; removed entries stay queued
    with ``visited == -1`` and are skipped (or compacted away). Invariant: ``_a`` holds a
    live entry unless no entry is live, so an object removed or evicted at the head makes
    the hand wrap to the tail *before* the next insertion, as in the paper (hand = NULL).
    The byte adaptation: evict until the new object fits; insert at the head.
    """

    policy: str = "sieve"

    __slots__ = ("_a", "_b", "_d", "_dead", "capacity_bytes", "stats", "used_bytes")

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = _check_capacity(capacity_bytes)
        self.used_bytes = 0
        self.stats = CacheStats()
        self._d: dict[int, list[int]] = {}
        self._a: deque[list[int]] = deque()
        self._b: deque[list[int]] = deque()
        self._dead = 0

    def queue(self) -> list[int]:
        """Cached keys in queue order, tail (oldest) first, head (newest) last."""
        return [e[3] for e in self._b if e[2] >= 0] + [e[3] for e in self._a if e[2] >= 0]

    def hand(self) -> int | None:
        """The key the hand points at (the next object to examine), or None if empty."""
        for q in (self._a, self._b):
            for e in q:
                if e[2] >= 0:
                    return e[3]
        return None

    def visited(self, key: int) -> bool:
        """The visited bit of a cached key (KeyError if absent)."""
        return self._d[key][2] == 1

    def keys(self) -> list[int]:
        """Cached keys starting at the hand (the order the hand will examine them)."""
        return [e[3] for e in self._a if e[2] >= 0] + [e[3] for e in self._b if e[2] >= 0]

    def clear(self) -> None:
        self._d.clear()
        self._a.clear()
        self._b.clear()
        self._dead = 0
        self.used_bytes = 0

    def peek(self, key: int) -> tuple[int, int] | None:
        e = self._d.get(key)
        return None if e is None else (e[1], e[0])

    def get(self, key: int, now_ns: int) -> int:
        e = self._d.get(key)
        st = self.stats
        if e is None:
            st.misses += 1
            return MISS
        e[2] = 1
        if e[0] > now_ns:
            st.hits += 1
            st.bytes_hit += e[1]
            return HIT
        st.stale += 1
        return STALE

    def _kill(self, e: list[int]) -> None:
        """Unindex a live entry (it stays queued as dead); adjust used bytes.

        If the hand was on it, the hand moves on towards the head (and wraps round to the
        tail if it passes the head), as when the hand's object is evicted.
        """
        e[2] = _DEAD
        del self._d[e[3]]
        self.used_bytes -= e[1]
        self._dead += 1
        self._settle_hand()

    def _settle_hand(self) -> None:
        """Restore the invariant "``_a`` holds a live entry unless no entry is live".

        Dead entries in front of the hand are dropped; if ``_a`` runs out, the hand has
        passed the head and wraps round to the tail (``_a, _b = _b, _a``).
        """
        a = self._a
        while a and a[0][2] < 0:
            a.popleft()
            self._dead -= 1
        if not a:
            self._a, self._b = self._b, a

    def put(self, key: int, size_bytes: int, expiry_ns: int, now_ns: int) -> bool:
        _check_size(size_bytes)
        st = self.stats
        st.bytes_missed += size_bytes
        d = self._d
        e = d.get(key)
        visited = 0
        if e is not None:
            if size_bytes <= e[1]:  # refresh in place
                self.used_bytes += size_bytes - e[1]
                e[0] = expiry_ns
                e[1] = size_bytes
                st.inserts += 1
                return True
            visited = e[2]
            self._kill(e)  # grows: re-insert at the head below
        cap = self.capacity_bytes
        if size_bytes > cap:
            st.rejects += 1
            self._maybe_compact()
            return False
        used = self.used_bytes
        a = self._a
        b = self._b
        ev = 0
        dead = self._dead
        while used + size_bytes > cap:
            # the hand examines _a[0]; _a holds a live entry whenever one exists
            x = a.popleft()
            v = x[2]
            if v > 0:  # visited: reset, keep in place (it joins the passed part, _b)
                x[2] = 0
                b.append(x)
            elif v == 0:  # evict; the hand stays on the next object towards the head
                del d[x[3]]
                used -= x[1]
                ev += 1
            else:
                dead -= 1
            if not a:  # the hand passed the head: wrap round to the tail
                a, b = b, a
        while a and a[0][2] < 0:
            a.popleft()
            dead -= 1
        if not a:
            a, b = b, a
        ne = [expiry_ns, size_bytes, visited, key]
        a.append(ne)
        d[key] = ne
        self._a = a
        self._b = b
        self._dead = dead
        self.used_bytes = used + size_bytes
        st.evictions += ev
        st.inserts += 1
        self._maybe_compact()
        return True

    def remove(self, key: int) -> bool:
        e = self._d.get(key)
        if e is None:
            return False
        self._kill(e)
        self.stats.invalidations += 1
        self._maybe_compact()
        return True

    def _maybe_compact(self) -> None:
        if self._dead > len(self._d) + _COMPACT_SLACK:
            self._a = deque(e for e in self._a if e[2] >= 0)
            self._b = deque(e for e in self._b if e[2] >= 0)
            self._dead = 0
