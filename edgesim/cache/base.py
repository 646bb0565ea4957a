"""What every cache policy shares: the ``get`` results, :class:`CacheStats`, the
:class:`Cache` protocol, batch validation and :func:`replay`, the one ``process`` loop.

The semantics common to all policies are in :mod:`edgesim.cache.policies`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import repeat
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

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
        calls (same results, state and stats): every policy uses :func:`replay`.
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


def replay(
    cache: Cache,
    keys: IntArray,
    sizes: IntArray,
    now_ns: IntArray,
    ttl_ns: IntArray | int,
) -> npt.NDArray[np.uint8]:
    """:meth:`Cache.process` for every policy: in array order, ``get``; on MISS or STALE,
    ``put(key, size, now + ttl, now)``. Returns the ``get`` results as ``np.uint8``.

    Each policy writes its logic once, in ``get`` and ``put``; this loop only validates the
    batch and converts it to Python ints chunk by chunk.
    """
    n, chunks = _batch(keys, sizes, now_ns, ttl_ns)
    out = bytearray(n)
    get = cache.get
    put = cache.put
    for chunk in chunks:
        for i, k, s, t, tl in chunk:
            r = get(k, t)
            if r != HIT:
                out[i] = r
                put(k, s, t + tl, t)
            else:
                out[i] = HIT
    return _result(out)


class DictCache:
    """What every policy shares: a dict ``_d`` of live keys, ``capacity_bytes``,
    ``used_bytes``, ``keys()`` in eviction order and ``remove(key)``; membership, iteration,
    bulk removal and the vectorised replay are written once here."""

    _d: dict[int, Any]
    capacity_bytes: int
    used_bytes: int

    def keys(self) -> list[int]:  # pragma: no cover - each policy defines its order
        raise NotImplementedError

    def remove(self, key: int) -> bool:  # pragma: no cover - each policy removes its way
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(capacity_bytes={self.capacity_bytes}, "
            f"used_bytes={self.used_bytes}, objects={len(self._d)})"
        )

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
        return replay(self, keys, sizes, now_ns, ttl_ns)  # type: ignore[arg-type]
