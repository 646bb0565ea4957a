"""Byte-capacity object caches with LRU, SIEVE and S3-FIFO eviction.

The caches are I/O-free and keyed by ``int`` object ids. Every object has a size in bytes
and an absolute expiry time in nanoseconds; the cache never holds more than
``capacity_bytes`` bytes. They serve two callers:

* the simulator's hot path, which replays millions of requests through a tier with
  :meth:`Cache.process` (one tight CPython loop per policy, no per-request objects beyond
  what the policy itself stores);
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
Caches are not thread-safe. ``tests/test_cache.py`` checks each policy against a literal
reference model of its paper's pseudo-code (S3-FIFO: of Algorithm 1 for
``variant="paper"`` and of libCacheSim's ``S3FIFO.c`` for the default) and, when installed,
against libCacheSim: LRU, SIEVE and S3-FIFO give its hits and misses request by request on
Zipf traces (unit and variable sizes, capacities of 1 %, 3 % and 10 % of the catalogue).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import repeat
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

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
]

MISS: Final = 0
"""``get`` result: the key is not cached."""
HIT: Final = 1
"""``get`` result: cached and fresh (``expiry_ns > now_ns``)."""
STALE: Final = 2
"""``get`` result: cached but expired."""

POLICIES: Final[tuple[str, ...]] = ("lru", "sieve", "s3-fifo")
"""Policy names accepted by :func:`make_cache` (the first is the default)."""

S3FIFO_VARIANTS: Final[tuple[str, ...]] = ("libcachesim", "paper")
"""Values of :class:`S3FIFOCache`'s ``variant`` (the first is the default)."""

IntArray = npt.NDArray[np.integer[Any]]
"""A numpy array of integers (any integer dtype)."""

_DEAD: Final = -1
"""Marker in an entry's visited/freq slot: the entry was removed but is still queued."""
_COMPACT_SLACK: Final = 1024


@dataclass(slots=True)
class CacheStats:
    """Counters of one cache (plain ints; reset with :meth:`reset`)."""

    hits: int = 0
    """``get`` calls that returned HIT."""
    misses: int = 0
    """``get`` calls that returned MISS."""
    stale: int = 0
    """``get`` calls that returned STALE."""
    evictions: int = 0
    """Objects evicted by the policy to make room (not invalidations)."""
    bytes_hit: int = 0
    """Stored bytes of the objects returned as HIT."""
    bytes_missed: int = 0
    """Bytes handed to ``put`` (fetched upstream), admitted or not."""
    inserts: int = 0
    """Admitted ``put`` calls (new objects and refreshes)."""
    rejects: int = 0
    """``put`` calls not admitted (object too big)."""
    invalidations: int = 0
    """Objects removed by ``remove`` / ``remove_if``."""

    @property
    def requests(self) -> int:
        """Number of ``get`` calls."""
        return self.hits + self.misses + self.stale

    @property
    def hit_ratio(self) -> float:
        """HITs over ``get`` calls (STALE counts as a miss); 0.0 before any request."""
        n = self.hits + self.misses + self.stale
        return self.hits / n if n else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        """``bytes_hit / (bytes_hit + bytes_missed)``; 0.0 before any byte moved."""
        total = self.bytes_hit + self.bytes_missed
        return self.bytes_hit / total if total else 0.0

    def reset(self) -> None:
        """Set every counter to zero (e.g. after a warm-up)."""
        self.hits = self.misses = self.stale = self.evictions = 0
        self.bytes_hit = self.bytes_missed = self.inserts = self.rejects = 0
        self.invalidations = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


@runtime_checkable
class Cache(Protocol):
    """A byte-capacity object cache (see the module docstring for the shared semantics)."""

    policy: str
    capacity_bytes: int
    used_bytes: int
    stats: CacheStats

    def __len__(self) -> int:
        """Number of cached objects."""
        ...

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is cached (fresh or stale); not an access."""
        ...

    def __iter__(self) -> Iterator[int]:
        """Iterate over the cached keys (in :meth:`keys` order); not an access."""
        ...

    def peek(self, key: int) -> tuple[int, int] | None:
        """``(size_bytes, expiry_ns)`` of a cached key, or None; not an access, no stats."""
        ...

    def get(self, key: int, now_ns: int) -> int:
        """Look ``key`` up: MISS (0), HIT (1) or STALE (2); HIT/STALE count as an access."""
        ...

    def put(self, key: int, size_bytes: int, expiry_ns: int, now_ns: int) -> bool:
        """Insert or refresh ``key``; evict per policy; False if too big to admit."""
        ...

    def remove(self, key: int) -> bool:
        """Invalidate ``key``; True if it was cached."""
        ...

    def remove_if(self, pred: Callable[[int], bool]) -> int:
        """Invalidate every cached key for which ``pred`` is true; return how many."""
        ...

    def keys(self) -> list[int]:
        """Cached keys, next eviction candidates first (approximately, for SIEVE/S3-FIFO)."""
        ...

    def clear(self) -> None:
        """Drop every object (stats are kept)."""
        ...

    def process(
        self,
        keys: IntArray,
        sizes: IntArray,
        now_ns: IntArray,
        ttl_ns: IntArray | int,
    ) -> npt.NDArray[np.uint8]:
        """Replay requests in array order: ``get``; on MISS/STALE ``put(key, size, now+ttl)``.

        Returns the ``get`` results as ``np.uint8``. Equivalent to the loop of ``get``/``put``
        calls (same results, state and stats), only faster.
        """
        ...


# --------------------------------------------------------------------------------------
# helpers


def _check_capacity(capacity_bytes: int) -> int:
    cap = int(capacity_bytes)
    if cap < 0:
        raise ValueError(f"capacity_bytes must be >= 0, got {capacity_bytes}")
    return cap


def _check_size(size_bytes: int) -> None:
    if size_bytes < 0:
        raise ValueError(f"size_bytes must be >= 0, got {size_bytes}")


def _int_array(a: IntArray, name: str, n: int | None = None) -> IntArray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind not in "iu" and arr.size:
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} elements, expected {n}")
    return arr


_CHUNK: Final = 1 << 16
"""Requests converted to Python ints at a time by ``process`` (bounds memory, stays in cache)."""

_Row = tuple[int, int, int, int, int]


def _batch(
    keys: IntArray, sizes: IntArray, now_ns: IntArray, ttl_ns: IntArray | int
) -> tuple[int, Iterator[Iterator[_Row]]]:
    """Validate a ``process`` batch; return its length and chunks of rows of Python ints.

    Each row is ``(index, key, size, now_ns, ttl_ns)``.
    """
    ka = _int_array(keys, "keys")
    n = int(ka.shape[0])
    sa = _int_array(sizes, "sizes", n)
    if n and sa.min() < 0:
        raise ValueError("sizes must be >= 0")
    ta = _int_array(now_ns, "now_ns", n)
    la = _int_array(ttl_ns, "ttl_ns", n) if isinstance(ttl_ns, np.ndarray) else None
    ttl = 0 if isinstance(ttl_ns, np.ndarray) else int(ttl_ns)

    def chunks() -> Iterator[Iterator[_Row]]:
        for lo in range(0, n, _CHUNK):
            hi = min(n, lo + _CHUNK)
            tls: Iterable[int] = la[lo:hi].tolist() if la is not None else repeat(ttl, hi - lo)
            yield zip(
                range(lo, hi),
                ka[lo:hi].tolist(),
                sa[lo:hi].tolist(),
                ta[lo:hi].tolist(),
                tls,
                strict=False,
            )

    return n, chunks()


def _result(out: bytearray) -> npt.NDArray[np.uint8]:
    return np.frombuffer(out, dtype=np.uint8)


# --------------------------------------------------------------------------------------
# LRU


class LRUCache:
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

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def __repr__(self) -> str:
        return (
            f"LRUCache(capacity_bytes={self.capacity_bytes}, used_bytes={self.used_bytes}, "
            f"objects={len(self._d)})"
        )

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

    def remove_if(self, pred: Callable[[int], bool]) -> int:
        doomed = [k for k in self._d if pred(k)]
        for k in doomed:
            self.remove(k)
        return len(doomed)

    def process(
        self,
        keys: IntArray,
        sizes: IntArray,
        now_ns: IntArray,
        ttl_ns: IntArray | int,
    ) -> npt.NDArray[np.uint8]:
        n, chunks = _batch(keys, sizes, now_ns, ttl_ns)
        out = bytearray(n)
        d = self._d
        get = d.get
        mte = d.move_to_end
        popitem = d.popitem
        cap = self.capacity_bytes
        used = self.used_bytes
        hits = misses = stale = bh = bm = ins = ev = rej = 0
        for chunk in chunks:
            for i, k, s, t, tl in chunk:
                e = get(k)
                if e is not None:
                    mte(k)
                    if e[1] > t:
                        out[i] = 1
                        hits += 1
                        bh += e[0]
                        continue
                    out[i] = 2
                    stale += 1
                    bm += s
                    # refresh in place: k is already at the MRU end
                    if s > cap:
                        del d[k]
                        used -= e[0]
                        rej += 1
                        continue
                    used += s - e[0]
                    d[k] = (s, t + tl)
                    while used > cap:  # never reaches k: it is MRU and fits alone
                        used -= popitem(False)[1][0]
                        ev += 1
                    ins += 1
                    continue
                misses += 1
                bm += s
                if s > cap:
                    rej += 1
                    continue
                used += s
                while used > cap:
                    used -= popitem(False)[1][0]
                    ev += 1
                d[k] = (s, t + tl)
                ins += 1
        self.used_bytes = used
        st = self.stats
        st.hits += hits
        st.misses += misses
        st.stale += stale
        st.bytes_hit += bh
        st.bytes_missed += bm
        st.inserts += ins
        st.evictions += ev
        st.rejects += rej
        return _result(out)


# --------------------------------------------------------------------------------------
# SIEVE


class SieveCache:
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

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def __repr__(self) -> str:
        return (
            f"SieveCache(capacity_bytes={self.capacity_bytes}, used_bytes={self.used_bytes}, "
            f"objects={len(self._d)})"
        )

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

    def remove_if(self, pred: Callable[[int], bool]) -> int:
        doomed = [k for k in self._d if pred(k)]
        for k in doomed:
            self.remove(k)
        return len(doomed)

    def _maybe_compact(self) -> None:
        if self._dead > len(self._d) + _COMPACT_SLACK:
            self._a = deque(e for e in self._a if e[2] >= 0)
            self._b = deque(e for e in self._b if e[2] >= 0)
            self._dead = 0

    def process(
        self,
        keys: IntArray,
        sizes: IntArray,
        now_ns: IntArray,
        ttl_ns: IntArray | int,
    ) -> npt.NDArray[np.uint8]:
        n, chunks = _batch(keys, sizes, now_ns, ttl_ns)
        out = bytearray(n)
        d = self._d
        get = d.get
        a = self._a
        b = self._b
        cap = self.capacity_bytes
        used = self.used_bytes
        dead = self._dead
        hits = misses = stale = bh = bm = ins = ev = rej = 0
        for chunk in chunks:
            for i, k, s, t, tl in chunk:
                e = get(k)
                if e is not None:
                    e[2] = 1
                    if e[0] > t:
                        out[i] = 1
                        hits += 1
                        bh += e[1]
                        continue
                    out[i] = 2
                    stale += 1
                    bm += s
                    if s <= e[1]:  # refresh in place
                        used += s - e[1]
                        e[0] = t + tl
                        e[1] = s
                        ins += 1
                        continue
                    visited = 1  # grows: kill, then insert at the head below
                    e[2] = _DEAD
                    del d[k]
                    used -= e[1]
                    dead += 1
                    while a and a[0][2] < 0:
                        a.popleft()
                        dead -= 1
                    if not a:
                        a, b = b, a
                else:
                    misses += 1
                    bm += s
                    visited = 0
                if s > cap:
                    rej += 1
                    continue
                if used + s > cap:
                    while used + s > cap:
                        x = a.popleft()
                        v = x[2]
                        if v > 0:
                            x[2] = 0
                            b.append(x)
                        elif v == 0:
                            del d[x[3]]
                            used -= x[1]
                            ev += 1
                        else:
                            dead -= 1
                        if not a:
                            a, b = b, a
                    while a and a[0][2] < 0:
                        a.popleft()
                        dead -= 1
                    if not a:
                        a, b = b, a
                ne = [t + tl, s, visited, k]
                a.append(ne)
                d[k] = ne
                used += s
                ins += 1
        self._a = a
        self._b = b
        self._dead = dead
        self.used_bytes = used
        st = self.stats
        st.hits += hits
        st.misses += misses
        st.stale += stale
        st.bytes_hit += bh
        st.bytes_missed += bm
        st.inserts += ins
        st.evictions += ev
        st.rejects += rej
        self._maybe_compact()
        return _result(out)


# --------------------------------------------------------------------------------------
# S3-FIFO


class S3FIFOCache:
    """S3-FIFO eviction (Yang et al., "FIFO queues are all you need for cache eviction",
    SOSP 2023), byte capacity.

    Three FIFO queues: a small queue S (``small_ratio``, 10 % of the capacity), a main queue
    M (the other 90 %) and a ghost queue G that remembers only the keys (and sizes) of
    objects evicted from S, bounded in bytes. Each object has a 2-bit frequency counter
    (capped at 3) incremented by every HIT/STALE ``get``. In both variants:

    * Insert a new object: if its key is in G, at the head of M (and forget it in G), else
      at the head of S, with frequency 0. A miss forgets the key in G even if the object
      is then not admitted.
    * Evict from S (one object leaves the cache per call): examine the tail; if its
      frequency >= ``move_to_main_threshold`` it moves to the head of M with its counter
      reset to 0 and the next tail is examined; otherwise it is evicted and its key goes
      into G (oldest keys leave G while G is over its byte capacity).
    * Evict from M (one object leaves per call): examine the tail; with freq > 0 it is
      reinserted at the head with freq - 1 (2-bit CLOCK); otherwise it is evicted.

    ``variant="libcachesim"`` (the default) follows libCacheSim's ``S3FIFO.c``, the
    authors' reference implementation (https://github.com/1a1a11a/libCacheSim,
    ``libCacheSim/cache/eviction/S3FIFO.c``); ``tests/test_cache.py`` checks that it gives
    ``libcachesim.S3FIFO``'s hits and misses request by request. It differs from the
    paper's Algorithm 1 in three ways:

    * Which queue evicts: M if M holds more than its 90 % share or S is empty, else S
      (Algorithm 1: S if S holds at least its 10 % share, else M).
    * A promotion from S to M never evicts from M by itself; M is trimmed by later
      evictions once it is over its share (Algorithm 1: "if M is full: evictM()").
    * Warm-up: until the first eviction, an object inserted while S holds at least its
      share goes to M, so the cache fills up S first and M second (the header of
      ``S3FIFO.c``: objects inserted after the cache is full are evicted more quickly,
      those inserted while it fills are kept slightly longer).

    G holds up to ``int(0.9 * capacity)`` bytes of keys, as in libCacheSim.

    ``variant="paper"`` is Algorithm 1 of the paper as written: evict from S while S holds
    >= its share (or M is empty), else from M; a promotion that makes M exceed its share
    evicts from M at once; no warm-up rule; G holds up to M's capacity in bytes of keys.

    Choices for byte sizes and ambiguities (documented deviations, both variants):

    * ``move_to_main_threshold`` defaults to 1: "promoted to M if accessed at least once
      since insertion", as in the paper's prose and the authors' write-ups. The paper's
      Algorithm 1 (``freq > 1``) and libCacheSim's default correspond to 2.
    * An object larger than S's capacity (but not larger than the cache) is inserted
      directly into M instead of being refused (libCacheSim refuses objects of at least
      S's capacity); an object larger than the whole capacity is not admitted.
    * A refresh that grows an object re-inserts it at the head of the queue it was in,
      keeping its counter (libCacheSim has no such refresh).

    Entries are lists ``[expiry_ns, size, freq, key, in_main]``; removed entries stay queued
    with ``freq == -1`` and are dropped when they reach a tail (or by compaction).
    """

    policy: str = "s3-fifo"

    __slots__ = (
        "_d",
        "_dead",
        "_g",
        "_m",
        "_paper",
        "_s",
        "_warm",
        "capacity_bytes",
        "ghost_bytes",
        "ghost_capacity_bytes",
        "main_bytes",
        "main_capacity_bytes",
        "move_to_main_threshold",
        "small_bytes",
        "small_capacity_bytes",
        "stats",
        "used_bytes",
        "variant",
    )

    def __init__(
        self,
        capacity_bytes: int,
        *,
        small_ratio: float = 0.1,
        move_to_main_threshold: int = 1,
        ghost_ratio: float | None = None,
        variant: str = "libcachesim",
    ) -> None:
        cap = _check_capacity(capacity_bytes)
        if not 0.0 <= small_ratio <= 1.0:
            raise ValueError(f"small_ratio must be in [0, 1], got {small_ratio}")
        if not 1 <= move_to_main_threshold <= 3:
            raise ValueError(
                f"move_to_main_threshold must be 1, 2 or 3, got {move_to_main_threshold}"
            )
        if variant not in S3FIFO_VARIANTS:
            raise ValueError(
                f"variant must be one of {', '.join(S3FIFO_VARIANTS)}, got {variant!r}"
            )
        self.variant = variant
        """``"libcachesim"`` (libCacheSim's ``S3FIFO.c``) or ``"paper"`` (Algorithm 1)."""
        self._paper = variant == "paper"
        self.capacity_bytes = cap
        self.small_capacity_bytes = int(cap * small_ratio)
        self.main_capacity_bytes = cap - self.small_capacity_bytes
        if ghost_ratio is not None:
            self.ghost_capacity_bytes = int(cap * ghost_ratio)
        elif self._paper:
            self.ghost_capacity_bytes = self.main_capacity_bytes
        else:
            self.ghost_capacity_bytes = int(cap * 0.9)
        self.move_to_main_threshold = move_to_main_threshold
        self.small_bytes = 0
        self.main_bytes = 0
        self.ghost_bytes = 0
        self.used_bytes = 0
        """Bytes held by S and M together."""
        self.stats = CacheStats()
        self._d: dict[int, list[int]] = {}
        self._s: deque[list[int]] = deque()
        self._m: deque[list[int]] = deque()
        self._g: OrderedDict[int, int] = OrderedDict()
        self._dead = 0
        self._warm = not self._paper
        """libCacheSim's warm-up rule is active (no eviction yet)."""

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def __repr__(self) -> str:
        return (
            f"S3FIFOCache(capacity_bytes={self.capacity_bytes}, small_bytes={self.small_bytes}, "
            f"main_bytes={self.main_bytes}, objects={len(self._d)}, variant={self.variant!r})"
        )

    def small_keys(self) -> list[int]:
        """Keys in S, tail (next to examine) first."""
        return [e[3] for e in self._s if e[2] >= 0]

    def main_keys(self) -> list[int]:
        """Keys in M, tail (next to examine) first."""
        return [e[3] for e in self._m if e[2] >= 0]

    def ghost_keys(self) -> list[int]:
        """Keys remembered in G, oldest first."""
        return list(self._g)

    def freq(self, key: int) -> int:
        """The frequency counter of a cached key (KeyError if absent)."""
        return self._d[key][2]

    def keys(self) -> list[int]:
        """Cached keys: S from its tail, then M from its tail."""
        return self.small_keys() + self.main_keys()

    def clear(self) -> None:
        """Drop every object and the ghost queue (stats are kept); warm-up starts again."""
        self._d.clear()
        self._s.clear()
        self._m.clear()
        self._g.clear()
        self._dead = 0
        self._warm = not self._paper
        self.small_bytes = self.main_bytes = self.ghost_bytes = self.used_bytes = 0

    def peek(self, key: int) -> tuple[int, int] | None:
        e = self._d.get(key)
        return None if e is None else (e[1], e[0])

    def get(self, key: int, now_ns: int) -> int:
        e = self._d.get(key)
        st = self.stats
        if e is None:
            st.misses += 1
            return MISS
        f = e[2]
        if f < 3:
            e[2] = f + 1
        if e[0] > now_ns:
            st.hits += 1
            st.bytes_hit += e[1]
            return HIT
        st.stale += 1
        return STALE

    def _kill(self, e: list[int]) -> None:
        """Unindex a live entry (it stays queued as dead); adjust the byte counts."""
        e[2] = _DEAD
        del self._d[e[3]]
        if e[4]:
            self.main_bytes -= e[1]
        else:
            self.small_bytes -= e[1]
        self.used_bytes -= e[1]
        self._dead += 1

    def put(self, key: int, size_bytes: int, expiry_ns: int, now_ns: int) -> bool:
        _check_size(size_bytes)
        st = self.stats
        st.bytes_missed += size_bytes
        d = self._d
        s = size_bytes
        e = d.get(key)
        freq = 0
        to_main = False
        if e is not None:
            if s <= e[1]:  # refresh in place
                if e[4]:
                    self.main_bytes += s - e[1]
                else:
                    self.small_bytes += s - e[1]
                self.used_bytes += s - e[1]
                e[0] = expiry_ns
                e[1] = s
                st.inserts += 1
                return True
            freq = e[2]
            to_main = e[4] == 1
            self._kill(e)  # grows: re-insert at the head of its queue below
        else:
            g = self._g.pop(key, None)
            if g is not None:
                self.ghost_bytes -= g
                to_main = True
        cap = self.capacity_bytes
        if s > cap:
            st.rejects += 1
            self._maybe_compact()
            return False
        scap = self.small_capacity_bytes
        if s > scap:
            to_main = True
        # --- evict until it fits (same code as in process(), on locals) ---
        sq = self._s
        mq = self._m
        ghost = self._g
        mcap = self.main_capacity_bytes
        gcap = self.ghost_capacity_bytes
        thr = self.move_to_main_threshold
        paper = self._paper
        warm = self._warm
        su = self.small_bytes
        mu = self.main_bytes
        gu = self.ghost_bytes
        dead = self._dead
        ev = 0
        while su + mu + s > cap:
            warm = False
            if su and ((su >= scap or not mu) if paper else mu <= mcap):
                # evict from S: promote accessed tails to M until one object leaves
                while su:
                    x = sq.popleft()
                    f = x[2]
                    if f >= thr:
                        x[2] = 0
                        x[4] = 1
                        xs = x[1]
                        su -= xs
                        mu += xs
                        mq.append(x)
                        while paper and mu > mcap:  # paper: M over its share evicts now
                            y = mq.popleft()
                            f = y[2]
                            if f > 0:
                                y[2] = f - 1
                                mq.append(y)
                            elif f == 0:
                                del d[y[3]]
                                mu -= y[1]
                                ev += 1
                            else:
                                dead -= 1
                    elif f >= 0:
                        xs = x[1]
                        xk = x[3]
                        del d[xk]
                        su -= xs
                        ev += 1
                        ghost[xk] = xs
                        gu += xs
                        while gu > gcap:
                            gu -= ghost.popitem(False)[1]
                        break
                    else:
                        dead -= 1
            else:
                # evict from M: reinsert accessed tails with freq - 1 until one leaves
                while mu:
                    y = mq.popleft()
                    f = y[2]
                    if f > 0:
                        y[2] = f - 1
                        mq.append(y)
                    elif f == 0:
                        del d[y[3]]
                        mu -= y[1]
                        ev += 1
                        break
                    else:
                        dead -= 1
        ne = [expiry_ns, s, freq, key, 0]
        if to_main or (warm and su >= scap):  # libCacheSim: S full before any eviction
            ne[4] = 1
            mq.append(ne)
            mu += s
        else:
            sq.append(ne)
            su += s
        d[key] = ne
        self.small_bytes = su
        self.main_bytes = mu
        self.used_bytes = su + mu
        self.ghost_bytes = gu
        self._dead = dead
        self._warm = warm
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

    def remove_if(self, pred: Callable[[int], bool]) -> int:
        doomed = [k for k in self._d if pred(k)]
        for k in doomed:
            self.remove(k)
        return len(doomed)

    def _maybe_compact(self) -> None:
        if self._dead > len(self._d) + _COMPACT_SLACK:
            self._s = deque(e for e in self._s if e[2] >= 0)
            self._m = deque(e for e in self._m if e[2] >= 0)
            self._dead = 0

    def process(
        self,
        keys: IntArray,
        sizes: IntArray,
        now_ns: IntArray,
        ttl_ns: IntArray | int,
    ) -> npt.NDArray[np.uint8]:
        n, chunks = _batch(keys, sizes, now_ns, ttl_ns)
        out = bytearray(n)
        d = self._d
        get = d.get
        sq = self._s
        mq = self._m
        ghost = self._g
        gpop = ghost.pop
        gpopitem = ghost.popitem
        cap = self.capacity_bytes
        scap = self.small_capacity_bytes
        mcap = self.main_capacity_bytes
        gcap = self.ghost_capacity_bytes
        thr = self.move_to_main_threshold
        paper = self._paper
        warm = self._warm
        su = self.small_bytes
        mu = self.main_bytes
        gu = self.ghost_bytes
        dead = self._dead
        hits = misses = stale = bh = bm = ins = ev = rej = 0
        for chunk in chunks:
            for i, k, s, t, tl in chunk:
                e = get(k)
                if e is not None:
                    f = e[2]
                    if f < 3:
                        e[2] = f = f + 1
                    if e[0] > t:
                        out[i] = 1
                        hits += 1
                        bh += e[1]
                        continue
                    out[i] = 2
                    stale += 1
                    bm += s
                    if s <= e[1]:  # refresh in place
                        if e[4]:
                            mu += s - e[1]
                        else:
                            su += s - e[1]
                        e[0] = t + tl
                        e[1] = s
                        ins += 1
                        continue
                    freq = f  # grows: kill, then re-insert at the head of its queue
                    to_main = e[4] == 1
                    e[2] = _DEAD
                    del d[k]
                    if to_main:
                        mu -= e[1]
                    else:
                        su -= e[1]
                    dead += 1
                else:
                    misses += 1
                    bm += s
                    freq = 0
                    to_main = False
                    g = gpop(k, None)
                    if g is not None:
                        gu -= g
                        to_main = True
                if s > cap:
                    rej += 1
                    continue
                if s > scap:
                    to_main = True
                while su + mu + s > cap:
                    warm = False
                    if su and ((su >= scap or not mu) if paper else mu <= mcap):
                        while su:
                            x = sq.popleft()
                            f = x[2]
                            if f >= thr:
                                x[2] = 0
                                x[4] = 1
                                xs = x[1]
                                su -= xs
                                mu += xs
                                mq.append(x)
                                while paper and mu > mcap:
                                    y = mq.popleft()
                                    f = y[2]
                                    if f > 0:
                                        y[2] = f - 1
                                        mq.append(y)
                                    elif f == 0:
                                        del d[y[3]]
                                        mu -= y[1]
                                        ev += 1
                                    else:
                                        dead -= 1
                            elif f >= 0:
                                xs = x[1]
                                xk = x[3]
                                del d[xk]
                                su -= xs
                                ev += 1
                                ghost[xk] = xs
                                gu += xs
                                while gu > gcap:
                                    gu -= gpopitem(False)[1]
                                break
                            else:
                                dead -= 1
                    else:
                        while mu:
                            y = mq.popleft()
                            f = y[2]
                            if f > 0:
                                y[2] = f - 1
                                mq.append(y)
                            elif f == 0:
                                del d[y[3]]
                                mu -= y[1]
                                ev += 1
                                break
                            else:
                                dead -= 1
                if to_main or (warm and su >= scap):
                    ne = [t + tl, s, freq, k, 1]
                    mq.append(ne)
                    mu += s
                else:
                    ne = [t + tl, s, freq, k, 0]
                    sq.append(ne)
                    su += s
                d[k] = ne
                ins += 1
        self.small_bytes = su
        self.main_bytes = mu
        self.used_bytes = su + mu
        self.ghost_bytes = gu
        self._dead = dead
        self._warm = warm
        st = self.stats
        st.hits += hits
        st.misses += misses
        st.stale += stale
        st.bytes_hit += bh
        st.bytes_missed += bm
        st.inserts += ins
        st.evictions += ev
        st.rejects += rej
        self._maybe_compact()
        return _result(out)


# --------------------------------------------------------------------------------------
# factory

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
