"""The compact LRU gives the reference LRU's results, request by request, with the compiled
replay loop (``_lru.c``) and with its pure-Python fallback (``_lru_py.py``): every test runs on
both (the C side is skipped only where the extension was not built)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgesim.cache.compact import HAVE_C, MAX_KEY, CompactLRUCache, make_fast_cache
from edgesim.cache.policies import LRUCache, SieveCache

MS = 1_000_000


@pytest.fixture(
    params=[
        pytest.param("c", marks=pytest.mark.skipif(not HAVE_C, reason="C extension not built")),
        "python",
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """Each implementation of the replay loop."""
    return str(request.param)


@settings(
    max_examples=60,
    deadline=None,
    # the fixture only names the backend: nothing to reset between examples
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_keys=st.integers(1, 300),
    capacity=st.integers(0, 5000),
    split=st.integers(0, 3000),
)
def test_same_results_as_the_reference_lru(
    backend: str, seed: int, n_keys: int, capacity: int, split: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    keys = rng.integers(0, n_keys, n) * 7919  # spread keys over the hash table
    sizes = rng.integers(0, 120, n)
    t = np.cumsum(rng.integers(0, 10, n)) * MS  # millisecond-aligned (expiry is kept in ms)
    ttl = rng.integers(0, 300, n) * MS
    fast = CompactLRUCache(
        capacity, initial_entries=16, backend=backend
    )  # forces growth and rehashing
    ref = LRUCache(capacity)
    got = np.concatenate(
        [
            fast.process(keys[:split], sizes[:split], t[:split], ttl[:split]),
            fast.process(keys[split:], sizes[split:], t[split:], ttl[split:]),
        ]
    )
    want = ref.process(keys, sizes, t, ttl)
    assert np.array_equal(got, want)
    assert fast.used_bytes == ref.used_bytes <= capacity
    assert len(fast) == len(ref)
    assert fast.keys_lru_order() == list(ref.keys())
    a, b = fast.stats, ref.stats
    for field in (
        "hits",
        "misses",
        "stale",
        "evictions",
        "inserts",
        "rejects",
        "bytes_hit",
        "bytes_missed",
    ):
        assert getattr(a, field) == getattr(b, field), field


def test_single_operations_match(backend: str) -> None:
    fast, ref = CompactLRUCache(100, initial_entries=16, backend=backend), LRUCache(100)
    for c in (fast, ref):
        assert c.put(1, 40, 10 * MS, 0)
        assert c.put(2, 40, 10 * MS, 0)
        assert c.get(1, 5 * MS) == 1
        assert c.put(3, 40, 10 * MS, 5 * MS)  # evicts 2, the least recently used
        assert c.get(2, 5 * MS) == 0
        assert c.get(1, 20 * MS) == 2  # expired: stale
        assert not c.put(4, 101, 10 * MS, 0)  # bigger than the whole cache
        assert c.remove(3)
        assert not c.remove(3)
    assert fast.keys_lru_order() == list(ref.keys())
    assert fast.used_bytes == ref.used_bytes == 40


def test_remove_if_invalidates_matching_keys(backend: str) -> None:
    c = CompactLRUCache(10_000, backend=backend)
    for k in range(50):
        c.put(k, 10, 10**12, 0)
    assert c.remove_if(lambda k: k % 2 == 0) == 25
    assert len(c) == 25
    assert 2 not in c
    assert 3 in c
    assert c.stats.invalidations == 25


def test_rejects_keys_and_sizes_it_cannot_store(backend: str) -> None:
    c = CompactLRUCache(10, backend=backend)
    with pytest.raises(ValueError, match="keys"):
        c.process(np.array([MAX_KEY + 1]), np.array([1]), np.array([0]), 1)
    with pytest.raises(ValueError, match="sizes"):
        c.process(np.array([1]), np.array([-1]), np.array([0]), 1)
    with pytest.raises(ValueError, match="same length"):
        c.process(np.array([1, 2]), np.array([1]), np.array([0]), 1)


def test_memory_per_entry_is_compact(backend: str) -> None:
    c = CompactLRUCache(10**12, backend=backend)
    n = 200_000 if backend == "c" else 20_000
    c.process(np.arange(n), np.full(n, 1000), np.arange(n) * MS, 10**15)
    assert len(c) == n
    assert c.nbytes / n < 40  # the reference LRU needs ~170 bytes per entry


def test_make_fast_cache() -> None:
    assert isinstance(make_fast_cache("lru", 10), CompactLRUCache)
    assert isinstance(make_fast_cache("sieve", 10), SieveCache)
    with pytest.raises(ValueError, match="fifo-ish"):
        make_fast_cache("fifo-ish", 10)


def test_lookup_only_stores_nothing(backend: str) -> None:
    fast, ref = CompactLRUCache(1000, initial_entries=16, backend=backend), LRUCache(1000)
    for c in (fast, ref):
        c.put(1, 10, 5 * MS, 0)
    keys = np.array([1, 2, 1, 3])
    t = np.array([1, 2, 10, 11]) * MS
    got = fast.process(keys, np.full(4, 10), t, 100 * MS, admit=False)
    want = [ref.get(int(k), int(tt)) for k, tt in zip(keys, t, strict=True)]
    assert got.tolist() == want == [1, 0, 2, 0]
    assert len(fast) == 1
    assert fast.keys_lru_order() == [1]
    assert fast.stats.inserts == 1  # the put before, nothing since


def test_default_backend_is_the_fastest_available() -> None:
    c = CompactLRUCache(10)
    assert c.backend == ("c" if HAVE_C else "python")
    with pytest.raises(ValueError, match="not available"):
        CompactLRUCache(10, backend="fortran")
