"""S3-FIFO (Yang et al., SOSP 2023; libCacheSim's ``S3FIFO.c`` by default) with a byte capacity
(see :mod:`edgesim.cache.policies`)."""

from __future__ import annotations

from collections import OrderedDict, deque

from edgesim.cache.base import (
    _COMPACT_SLACK,
    _DEAD,
    HIT,
    MISS,
    S3FIFO_VARIANTS,
    STALE,
    CacheStats,
    DictCache,
    _check_capacity,
    _check_size,
)


class S3FIFOCache(DictCache):
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
    ``libCacheSim/cache/eviction/S3FIFO.c``); ``tests/core/test_cache.py`` checks that it gives
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
        # --- evict until it fits (on locals) ---
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

    def _maybe_compact(self) -> None:
        if self._dead > len(self._d) + _COMPACT_SLACK:
            self._s = deque(e for e in self._s if e[2] >= 0)
            self._m = deque(e for e in self._m if e[2] >= 0)
            self._dead = 0
