"""Pure-Python fallback for the compiled replay loop ``_lru.c`` (same functions, same results).

Used by :class:`~edgesim.cache.compact.CompactLRUCache` when the C extension was not built (no
compiler at install time). The state stays in the same numpy arrays; this module reads and
writes them through :class:`memoryview` objects, whose item access is several times cheaper
than indexing numpy arrays element by element. Every function mirrors its C counterpart line
by line, so both paths give identical results (tests/core/test_cache_compact.py runs each test on
both); the fallback is slower (bench/bench_cache.py, ``lru-compact-py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# meta slots (shared with _lru.c and compact.py)
HEAD, TAIL, USED, COUNT, CAP, TOMBS, HITS, MISSES, STALE_, EVICT, INS, REJ, BHIT, BMISS, FREE = (
    range(15)
)
EMPTY = -1
TOMB = -2
_GOLDEN = 0x9E3779B97F4A7C15
_U64 = 2**64 - 1
_U32 = 2**32 - 1


def _hash(key: int, mask: int) -> int:
    return (((key * _GOLDEN) & _U64) >> 29) & mask


def _find(table: memoryview, keys: memoryview, mask: int, key: int) -> tuple[int, int]:
    """(slot of ``key`` or -1, its table position or the first usable one)."""
    p = _hash(key, mask)
    first_tomb = -1
    while True:
        s = table[p]
        if s == EMPTY:
            return -1, (first_tomb if first_tomb >= 0 else p)
        if s == TOMB:
            if first_tomb < 0:
                first_tomb = p
        elif keys[s] == key:
            return s, p
        p = (p + 1) & mask


def _unlink(prev: memoryview, nxt: memoryview, m: memoryview, s: int) -> None:
    p, n = prev[s], nxt[s]
    if p >= 0:
        nxt[p] = n
    else:
        m[HEAD] = n
    if n >= 0:
        prev[n] = p
    else:
        m[TAIL] = p


def _push_mru(prev: memoryview, nxt: memoryview, m: memoryview, s: int) -> None:
    t = m[TAIL]
    prev[s] = t
    nxt[s] = -1
    if t >= 0:
        nxt[t] = s
    else:
        m[HEAD] = s
    m[TAIL] = s


def _drop(
    table: memoryview,
    mask: int,
    keys: memoryview,
    size: memoryview,
    prev: memoryview,
    nxt: memoryview,
    m: memoryview,
    s: int,
) -> None:
    _, pos = _find(table, keys, mask, keys[s])
    table[pos] = TOMB
    m[TOMBS] += 1
    _unlink(prev, nxt, m, s)
    m[USED] -= size[s]
    m[COUNT] -= 1
    nxt[s] = m[FREE]  # push on the free chain
    m[FREE] = s


def _expiry_ms(t_ns: int, ttl_ns: int) -> int:
    e = t_ns + ttl_ns
    if e <= 0:
        return 0
    return min((e + 999_999) // 1_000_000, _U32)


def process(
    table_a: Any,
    keys_a: Any,
    size_a: Any,
    exp_a: Any,
    prev_a: Any,
    nxt_a: Any,
    meta_a: Any,
    qk_a: Any,
    qs_a: Any,
    qt_a: Any,
    qttl_a: Any,
    out_a: Any,
    start: int,
    admit: bool = True,
) -> int:
    """Replay requests from ``start``; return the index where it stopped (the end, or the
    first request that needs the tables grown)."""
    table, keys, size, exp = (memoryview(a) for a in (table_a, keys_a, size_a, exp_a))
    prev, nxt, m, out = (memoryview(a) for a in (prev_a, nxt_a, meta_a, out_a))
    qk, qs, qt, qttl = (memoryview(a) for a in (qk_a, qs_a, qt_a, qttl_a))
    n = len(qk)
    mask = len(table) - 1
    table_len = mask + 1
    cap = m[CAP]
    i = start
    while i < n:
        if m[FREE] < 0 or (m[COUNT] + m[TOMBS] + 1) * 10 > table_len * 7:
            break
        k, sz, t = qk[i], qs[i], qt[i]
        s, pos = _find(table, keys, mask, k)
        if s >= 0:
            _unlink(prev, nxt, m, s)
            _push_mru(prev, nxt, m, s)
            if exp[s] * 1_000_000 > t:
                out[i] = 1
                m[HITS] += 1
                m[BHIT] += size[s]
                i += 1
                continue
            out[i] = 2
            m[STALE_] += 1
            if not admit:  # look-up only: nothing is fetched or stored
                i += 1
                continue
            m[BMISS] += sz
            if sz > cap:
                _drop(table, mask, keys, size, prev, nxt, m, s)
                m[REJ] += 1
                i += 1
                continue
            m[USED] += sz - size[s]
            size[s] = sz
            exp[s] = _expiry_ms(t, qttl[i])
            while m[USED] > cap:
                _drop(table, mask, keys, size, prev, nxt, m, m[HEAD])
                m[EVICT] += 1
            m[INS] += 1
            i += 1
            continue
        out[i] = 0
        m[MISSES] += 1
        if not admit:
            i += 1
            continue
        m[BMISS] += sz
        if sz > cap:
            m[REJ] += 1
            i += 1
            continue
        m[USED] += sz
        while m[USED] > cap:
            _drop(table, mask, keys, size, prev, nxt, m, m[HEAD])
            m[EVICT] += 1
        _, pos = _find(table, keys, mask, k)  # evictions may have left tombstones on the path
        s = m[FREE]  # pop the free chain
        m[FREE] = nxt[s]
        keys[s] = k
        size[s] = sz
        exp[s] = _expiry_ms(t, qttl[i])
        table[pos] = s
        _push_mru(prev, nxt, m, s)
        m[COUNT] += 1
        m[INS] += 1
        i += 1
    return i


def find(table_a: Any, keys_a: Any, key: int) -> tuple[int, int]:
    """(slot, position) of a key."""
    table = memoryview(table_a)
    return _find(table, memoryview(keys_a), len(table) - 1, int(key))


def rehash(table_a: Any, keys_a: Any, head: int, nxt_a: Any) -> None:
    """Rebuild the hash table from the linked list."""
    np.asarray(table_a)[:] = EMPTY
    table, keys, nxt = memoryview(table_a), memoryview(keys_a), memoryview(nxt_a)
    mask = len(table) - 1
    s = head
    while s >= 0:
        p = _hash(keys[s], mask)
        while table[p] != EMPTY:
            p = (p + 1) & mask
        table[p] = s
        s = nxt[s]


def drop(
    table_a: Any, keys_a: Any, size_a: Any, prev_a: Any, nxt_a: Any, meta_a: Any, slot: int
) -> None:
    """Remove a slot."""
    table = memoryview(table_a)
    _drop(
        table,
        len(table) - 1,
        memoryview(keys_a),
        memoryview(size_a),
        memoryview(prev_a),
        memoryview(nxt_a),
        memoryview(meta_a),
        int(slot),
    )


def touch(prev_a: Any, nxt_a: Any, meta_a: Any, slot: int) -> None:
    """Move a slot to the MRU end."""
    prev, nxt, m = memoryview(prev_a), memoryview(nxt_a), memoryview(meta_a)
    _unlink(prev, nxt, m, int(slot))
    _push_mru(prev, nxt, m, int(slot))
