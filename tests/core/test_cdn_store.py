"""One tier's HTTP object store (services.cloudfront.store): freshness, SWR/SIE, Age, eviction."""

from __future__ import annotations

import math

import pytest

from edgesim.services.cloudfront.key import CacheKey, build_cache_key
from edgesim.services.cloudfront.message import Headers, Request
from edgesim.services.cloudfront.store import CachedObject, Freshness, HttpStore, seconds_to_ns
from edgesim.services.cloudfront.ttl import CachePolicy

POLICIES = ["lru", "sieve", "s3-fifo"]


def k(path: str, dist: str = "D") -> CacheKey:
    return build_cache_key(dist, Request("GET", path), CachePolicy())


def obj(
    path: str, size: int = 100, *, ttl: float = 60, at: float = 0, **kw: object
) -> CachedObject:
    return CachedObject(
        key=k(path, str(kw.pop("dist", "D"))),
        status=200,
        headers=Headers(kw.pop("headers", {})),  # type: ignore[arg-type]
        body=b"x" * size,
        body_size=size,
        stored_at_s=at,
        ttl_s=ttl,
        **kw,  # type: ignore[arg-type]
    )


def test_freshness_states() -> None:
    o = obj("/a", ttl=60, swr_s=30)
    assert o.freshness(0) is Freshness.FRESH
    assert o.freshness(59.9) is Freshness.FRESH
    assert o.freshness(60) is Freshness.STALE_WHILE_REVALIDATE
    assert o.freshness(89.9) is Freshness.STALE_WHILE_REVALIDATE
    assert o.freshness(90) is Freshness.STALE
    held = obj("/a", ttl=60, error_hold_until_s=100)
    assert held.freshness(70) is Freshness.ERROR_HOLD
    assert held.freshness(100) is Freshness.STALE


def test_age_counts_upstream_age() -> None:
    o = obj("/a", ttl=60, at=100, initial_age_s=20)
    assert o.age_s(100) == 20
    assert o.age_header(110.9) == "30"
    assert o.expires_at_s == 140
    assert o.freshness(139) is Freshness.FRESH
    assert o.freshness(140) is Freshness.STALE
    assert o.staleness_s(150) == 10


def test_stale_if_error_windows() -> None:
    assert obj("/a", ttl=10).stale_if_error_ok(10_000)  # not sent: served (spec §1.6)
    assert not obj("/a", ttl=10, sie_s=0).stale_if_error_ok(11)  # 0 suppresses
    w = obj("/a", ttl=10, sie_s=100)
    assert w.stale_if_error_ok(110)
    assert not w.stale_if_error_ok(110.1)


def test_validators_and_sizes() -> None:
    o = obj("/a", 10, headers={"ETag": '"e"', "Last-Modified": "x"})
    assert (o.etag, o.last_modified, o.has_validators) == ('"e"', "x", True)
    assert o.size_bytes == 10 + len("ETag") + 3 + 4 + len("Last-Modified") + 1 + 4
    assert not obj("/b").has_validators


@pytest.mark.parametrize("policy", POLICIES)
def test_lookup_put_remove(policy: str) -> None:
    s = HttpStore(10_000, policy, name="edge")
    assert (s.name, s.policy, s.capacity_bytes) == ("edge", policy, 10_000)
    assert s.lookup(k("/a"), 0) == (Freshness.MISS, None)
    assert s.put(obj("/a"), 0)
    state, got = s.lookup(k("/a"), 1)
    assert state is Freshness.FRESH
    assert got is not None
    assert got.key == k("/a")
    assert k("/a") in s
    assert k("/b") not in s
    assert "x" not in s
    assert s.used_bytes == 100
    assert len(s) == 1
    assert s.lookup(k("/a"), 61)[0] is Freshness.STALE  # stale objects stay for revalidation
    assert s.remove(k("/a"))
    assert not s.remove(k("/a"))
    assert len(s) == 0
    assert s.used_bytes == 0


@pytest.mark.parametrize("policy", POLICIES)
def test_eviction_by_byte_capacity(policy: str) -> None:
    s = HttpStore(1000, policy)
    for i in range(30):
        assert s.put(obj(f"/o{i}", 100), i)
        assert s.used_bytes <= 1000
        assert len(s) == len(s.cache)  # payloads follow the policy's evictions
        assert sum(o.size_bytes for o in s) == s.used_bytes
    assert s.evicted == 30 - len(s) > 0
    assert s.stats.evictions == s.evicted
    # too big for the whole capacity: refused, and an old copy under that key dropped
    assert s.put(obj("/o29", 50), 100)
    assert not s.put(obj("/o29", 2000), 101)
    assert s.peek(k("/o29")) is None


def test_lru_evicts_least_recently_used() -> None:
    s = HttpStore(300, "lru")
    for p in ("/a", "/b", "/c"):
        s.put(obj(p), 0)
    s.lookup(k("/a"), 1)  # /a becomes most recently used
    s.put(obj("/d"), 2)
    assert k("/b") not in s
    assert k("/a") in s
    assert k("/d") in s


def test_digest_collision_is_a_miss_not_another_variant() -> None:
    s = HttpStore(10_000)
    a = obj("/a")
    s.put(a, 0)
    fake = CacheKey('["other"]', a.key.digest, "/a", "", "GET")
    assert s.peek(fake) is None
    assert s.lookup(fake, 0) == (Freshness.MISS, None)
    assert not s.remove(fake)


def test_invalidate() -> None:
    s = HttpStore(100_000)
    for p in ("/img/a.jpg", "/img/b.jpg", "/css/x.css"):
        s.put(obj(p), 0)
    s.put(obj("/img/a.jpg", dist="OTHER"), 0)
    assert s.invalidate(["/img/*"], distribution_id="D") == 2
    assert len(s) == 2
    assert s.invalidate(["/img/a.jpg"]) == 1
    assert s.stats.invalidations == 3
    s.clear()
    assert len(s) == 0
    assert s.used_bytes == 0


def test_seconds_to_ns() -> None:
    assert seconds_to_ns(1.5) == 1_500_000_000
    assert seconds_to_ns(math.inf) > 0 > seconds_to_ns(-math.inf)
