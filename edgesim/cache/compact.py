"""A compact LRU with the :class:`~edgesim.cache.policies.Cache` API, replayed in C.

The pure-Python :class:`~edgesim.cache.policies.LRUCache` spends ~170 bytes and ~1 µs per
object; the scenario engine's CDN tiers hold millions of objects. This one keeps every entry
in numpy arrays (32-bit key, 32-bit size, 32-bit expiry in milliseconds and two 32-bit list
links: 20 bytes, plus 6-11 bytes of open-addressing hash table kept at most 70 % full, and
~12 % growth slack) and replays a batch of requests in a small C loop (``_lru.c``, built with
the package when a C compiler is available). Without a compiler the same loop runs in Python
(``_lru_py.py``), with identical results but slower (``HAVE_C``; bench/README.md). Its results
equal ``LRUCache``'s request by request (tests/core/test_cache_compact.py), except that expiry is
kept to the millisecond, rounded up (an object expiring at 1.0000004 s is still fresh at
1.0000007 s), and saturates after ~49.7 days of virtual time. Keys must fit in 31 bits and
sizes in 32. C rather than a JIT keeps imports light: numba's LLVM alone added ~130 MB of RSS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from edgesim.cache import _lru_py
from edgesim.cache.policies import CacheStats

try:
    from edgesim.cache import _lru  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the pure-Python loop
    _lru = None

#: True when the compiled replay loop (``_lru.c``) was built and imports.
HAVE_C: bool = _lru is not None
#: The available implementations of the replay loop, fastest first.
BACKENDS: tuple[str, ...] = ("c", "python") if HAVE_C else ("python",)

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

# meta slots (shared with _lru.c)
HEAD, TAIL, USED, COUNT, CAP, TOMBS, HITS, MISSES, STALE_, EVICT, INS, REJ, BHIT, BMISS, FREE = (
    range(15)
)
EMPTY = -1
#: Sizes are stored as 32-bit unsigned integers: larger objects are refused.
MAX_OBJECT_BYTES = 2**32 - 1
#: Keys are stored as 32-bit signed integers (callers pack their ids to fit).
MAX_KEY = 2**31 - 1


class CompactLRUCache:
    """Byte-capacity LRU in numpy arrays with a compiled batch path (same results as
    :class:`~edgesim.cache.policies.LRUCache`)."""

    policy = "lru"

    def __init__(
        self, capacity_bytes: int, initial_entries: int = 1024, *, backend: str | None = None
    ) -> None:
        """``backend``: ``"c"`` (the compiled loop), ``"python"`` (the fallback) or ``None``
        (the fastest available)."""
        if capacity_bytes < 0:
            raise ValueError("capacity must be >= 0")
        backend = backend or BACKENDS[0]
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} is not available (available: {BACKENDS})")
        self.backend = backend
        self._impl: Any = _lru if backend == "c" else _lru_py
        self.capacity_bytes = int(capacity_bytes)
        n = max(16, int(initial_entries))
        self._keys = np.zeros(n, dtype=np.int32)
        self._size = np.zeros(n, dtype=np.uint32)
        self._exp = np.zeros(n, dtype=np.uint32)
        self._prev = np.full(n, -1, dtype=np.int32)
        self._nxt = np.append(np.arange(1, n, dtype=np.int32), np.int32(-1))  # the free chain
        self._table = np.full(_pow2(2 * n), EMPTY, dtype=np.int32)
        self._meta = np.zeros(15, dtype=np.int64)
        self._meta[HEAD] = self._meta[TAIL] = -1
        self._meta[CAP] = self.capacity_bytes
        self._meta[FREE] = 0
        self._stats_base = CacheStats()

    # ---- capacity management -----------------------------------------------------------
    def _grow(self) -> None:
        m = self._meta
        n = len(self._keys)
        if m[FREE] < 0:  # no free slot: 25 % more
            new = n + max(n // 4, 16)
            self._keys = np.resize(self._keys, new)
            self._size = np.resize(self._size, new)
            self._exp = np.resize(self._exp, new)
            self._prev = np.concatenate([self._prev, np.full(new - n, -1, dtype=np.int32)])
            chain = np.append(np.arange(n + 1, new, dtype=np.int32), np.int32(-1))
            self._nxt = np.concatenate([self._nxt, chain])
            m[FREE] = n
        size = _pow2((int(m[COUNT]) + 1) * 2 + 16)
        self._table = np.full(size, EMPTY, dtype=np.int32)
        self._impl.rehash(self._table, self._keys, int(m[HEAD]), self._nxt)
        m[TOMBS] = 0

    # ---- the Cache API -----------------------------------------------------------------
    @property
    def used_bytes(self) -> int:
        return int(self._meta[USED])

    def __len__(self) -> int:
        return int(self._meta[COUNT])

    def __contains__(self, key: int) -> bool:
        return bool(self._impl.find(self._table, self._keys, int(key))[0] >= 0)

    def _drop(self, slot: int) -> None:
        self._impl.drop(
            self._table, self._keys, self._size, self._prev, self._nxt, self._meta, int(slot)
        )

    def _room(self) -> None:
        m = self._meta
        if m[FREE] < 0 or (m[COUNT] + m[TOMBS] + 1) * 10 > len(self._table) * 7:
            self._grow()

    @property
    def stats(self) -> CacheStats:
        m = self._meta
        b = self._stats_base
        return CacheStats(
            hits=int(m[HITS]),
            misses=int(m[MISSES]),
            stale=int(m[STALE_]),
            evictions=int(m[EVICT]),
            bytes_hit=int(m[BHIT]),
            bytes_missed=int(m[BMISS]),
            inserts=int(m[INS]),
            rejects=int(m[REJ]),
            invalidations=b.invalidations,
        )

    def process(
        self, keys: I64, sizes: I64, now_ns: I64, ttl_ns: I64 | int, *, admit: bool = True
    ) -> npt.NDArray[np.uint8]:
        """Replay requests in order; with ``admit=False`` only look up (a miss or a stale
        object is not fetched, so nothing is stored or refreshed)."""
        qk = np.ascontiguousarray(keys, dtype=np.int64)
        n = len(qk)
        qs = np.ascontiguousarray(sizes, dtype=np.int64)
        qt = np.ascontiguousarray(now_ns, dtype=np.int64)
        if isinstance(ttl_ns, int | np.integer):
            qttl = np.full(n, int(ttl_ns), dtype=np.int64)
        else:
            qttl = np.ascontiguousarray(ttl_ns, dtype=np.int64)
        if len(qs) != n or len(qt) != n or len(qttl) != n:
            raise ValueError("keys, sizes, now_ns and ttl_ns must have the same length")
        if n and (qs.min() < 0):
            raise ValueError("sizes must be >= 0")
        if n and (qk.min() < 0 or qk.max() > MAX_KEY):
            raise ValueError(f"keys must be between 0 and {MAX_KEY}")
        if n and qs.max() > MAX_OBJECT_BYTES:
            raise ValueError(f"objects above {MAX_OBJECT_BYTES} bytes are not cached by this model")
        out = np.zeros(n, dtype=np.uint8)
        i = 0
        while i < n:
            i = self._impl.process(
                self._table,
                self._keys,
                self._size,
                self._exp,
                self._prev,
                self._nxt,
                self._meta,
                qk,
                qs,
                qt,
                qttl,
                out,
                i,
                admit,
            )
            if i < n:
                self._grow()
        return out

    def get(self, key: int, now_ns: int) -> int:
        s, _ = self._impl.find(self._table, self._keys, int(key))
        if s < 0:
            self._meta[MISSES] += 1
            return 0
        self._impl.touch(self._prev, self._nxt, self._meta, s)
        if int(self._exp[s]) * 1_000_000 > now_ns:
            self._meta[HITS] += 1
            self._meta[BHIT] += self._size[s]
            return 1
        self._meta[STALE_] += 1
        return 2

    def put(self, key: int, size_bytes: int, expiry_ns: int, now_ns: int) -> bool:
        if not 0 <= key <= MAX_KEY:
            raise ValueError(f"keys must be between 0 and {MAX_KEY}")
        if not 0 <= size_bytes <= MAX_OBJECT_BYTES:
            raise ValueError(f"size must be between 0 and {MAX_OBJECT_BYTES} bytes")
        m = self._meta
        m[BMISS] += size_bytes
        s, _ = self._impl.find(self._table, self._keys, int(key))
        if size_bytes > self.capacity_bytes:
            if s >= 0:
                self._drop(s)
            m[REJ] += 1
            return False
        if s >= 0:
            self._impl.touch(self._prev, self._nxt, m, s)
            m[USED] += size_bytes - int(self._size[s])
            self._size[s] = size_bytes
            self._exp[s] = _ms(expiry_ns)
            while m[USED] > self.capacity_bytes:
                self._drop(int(m[HEAD]))
                m[EVICT] += 1
            m[INS] += 1
            return True
        self._room()
        m[USED] += size_bytes
        while m[USED] > self.capacity_bytes:
            self._drop(int(m[HEAD]))
            m[EVICT] += 1
        _, pos = self._impl.find(self._table, self._keys, int(key))
        s = int(m[FREE])  # pop the free chain
        m[FREE] = self._nxt[s]
        self._keys[s] = key
        self._size[s] = size_bytes
        self._exp[s] = _ms(expiry_ns)
        self._table[pos] = s
        tail = int(m[TAIL])  # link the new slot at the MRU end
        self._prev[s] = tail
        self._nxt[s] = -1
        if tail >= 0:
            self._nxt[tail] = s
        else:
            m[HEAD] = s
        m[TAIL] = s
        m[COUNT] += 1
        m[INS] += 1
        return True

    def remove(self, key: int) -> bool:
        s, _ = self._impl.find(self._table, self._keys, int(key))
        if s < 0:
            return False
        self._drop(s)
        self._stats_base.invalidations += 1
        return True

    def remove_if(self, pred: Callable[[int], bool]) -> int:
        doomed = [k for k in self.keys_lru_order() if pred(k)]
        for k in doomed:
            self.remove(k)
        return len(doomed)

    def keys_lru_order(self) -> list[int]:
        """Keys from least to most recently used."""
        out = []
        s = int(self._meta[HEAD])
        while s >= 0:
            out.append(int(self._keys[s]))
            s = int(self._nxt[s])
        return out

    @property
    def nbytes(self) -> int:
        """Memory held by this cache's arrays."""
        return sum(
            a.nbytes
            for a in (
                self._keys,
                self._size,
                self._exp,
                self._prev,
                self._nxt,
                self._table,
                self._meta,
            )
        )


def _ms(expiry_ns: int) -> int:
    """Expiry in whole milliseconds, rounded up, saturating at 2**32 - 1."""
    if expiry_ns <= 0:
        return 0
    return min((int(expiry_ns) + 999_999) // 1_000_000, 2**32 - 1)


def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


def make_fast_cache(policy: str, capacity_bytes: int) -> Any:
    """The fastest implementation of ``policy``: the compact compiled LRU for ``lru``, the
    reference implementations for the others."""
    if policy == "lru":
        return CompactLRUCache(capacity_bytes)
    from edgesim.cache.policies import make_cache

    return make_cache(policy, capacity_bytes)
