"""The two faces of the CloudFront model agree request by request.

A generated trace (several behaviours and cache policies, varied origin headers, origin
failures and recoveries, an invalidation, range and conditional requests, a method a
behaviour refuses) is replayed through the run's face (``vector.TierChain`` with the request
classes ``vector.class_rules`` builds, chunk by chunk as the engine does) and through the
live edge's face (``EdgePipeline.handle`` with one ``HttpStore`` per tier node), in-process.
Every request must get the same result type, status, TTL and serving tier.

Times are multiples of 1/8 s, so ages and expiries are exact in both faces (the run's caches
keep expiries to the millisecond); caches are large enough that nothing is evicted (the live
store counts header bytes, the run's caches body bytes only).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgesim.services.cloudfront.invalidation import matches_any
from edgesim.services.cloudfront.message import Headers, OriginResponse, Request
from edgesim.services.cloudfront.pipeline import Distribution, EdgePipeline, log_result
from edgesim.services.cloudfront.sim import RUN_ETAG, DistributionSpec, cdn_distribution
from edgesim.services.cloudfront.store import HttpStore
from edgesim.services.cloudfront.vector import (
    RESULTS,
    TIERS,
    ClassRules,
    TierChain,
    class_rules,
)

NS = 1_000_000_000
SLOT_NS = NS // 8
BIG = 1 << 40
SPEC = DistributionSpec.model_validate(
    {
        "name": "diff",
        "origins": [{"name": "o", "endpoint": "e"}],
        "cache_policy": {"min_ttl": "0s", "default_ttl": "20s", "max_ttl": "300s"},
        "behaviors": [
            {
                "path": "/static/*",
                "origin": "o",
                "cache_policy": {"min_ttl": "1s", "default_ttl": "60s", "max_ttl": "120s"},
            },
            {
                "path": "/media/*",
                "origin": "o",
                "cache_policy": {"min_ttl": "0s", "default_ttl": "30s", "max_ttl": "40s"},
            },
            {"path": "/api/*", "origin": "o", "cache_policy": "CachingDisabled"},
            {"path": "/ro/*", "origin": "o", "allowed_methods": "GET_HEAD"},
        ],
        "error_caching_min_ttl": "10s",
        "custom_error_responses": [{"error_code": 504, "error_caching_min_ttl": "4s"}],
    }
)


@dataclass(frozen=True)
class Cls:
    method: str
    prefix: str
    headers: tuple[tuple[str, str], ...]
    cache_control: str | None
    down_status: int = 503


CLASSES = [
    Cls("GET", "/static", (), "max-age=30"),
    Cls("GET", "/static", (("If-None-Match", RUN_ETAG),), "max-age=30"),  # same key
    Cls("GET", "/media", (), "max-age=8, stale-if-error=0", down_status=504),
    Cls("GET", "/media", (("Range", "bytes=0-99"),), "max-age=8, stale-if-error=0", 504),
    Cls("GET", "/web", (), None),  # the default TTL (20 s)
    Cls("GET", "/sie", (), "max-age=3, stale-if-error=6"),
    Cls("GET", "/nostore", (), "no-store"),  # MinTTL 0: never stored
    Cls("GET", "/zero", (), "max-age=0"),  # stored, revalidated on every use
    Cls("POST", "/api", (), None),
    Cls("POST", "/ro", (), None),  # the behaviour allows GET/HEAD only: 403
]
WEIGHTS = np.array([30, 6, 12, 4, 20, 10, 3, 3, 8, 4], dtype=float)
#: edge -> (regional edge cache, Origin Shield): -1 for none (edge 12's REC is in the
#: shield's region, edge 13 has no REC)
EDGES = {10: (20, 30), 11: (20, 30), 12: (21, -1), 13: (-1, 30)}
DOWN = [(600, 660), (1800, 1815), (2400, 2500)]
INVALIDATE_AT_S = 1500
INVALIDATION = ["/static/*", "/media/1*"]


def size_of(obj: int) -> int:
    return 500 + 37 * obj


@dataclass
class Trace:
    t_ns: np.ndarray
    edge: np.ndarray
    cls: np.ndarray
    obj: np.ndarray

    def __len__(self) -> int:
        return len(self.t_ns)


def make_trace(n: int, duration_s: int, seed: int, objects: int = 150) -> Trace:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, duration_s * 8, n)) * SLOT_NS
    edge = rng.choice(np.array(sorted(EDGES)), n)
    cls = rng.choice(len(CLASSES), n, p=WEIGHTS / WEIGHTS.sum())
    ranks = np.arange(1, objects + 1, dtype=float)
    p = ranks**-0.9
    obj = rng.choice(objects, n, p=p / p.sum())
    return Trace(t, edge, cls, obj)


def down_at(t_ns: int, down: list[tuple[float, float]]) -> bool:
    return any(a * NS <= t_ns < b * NS for a, b in down)


def response_headers(c: Cls) -> list[tuple[str, str]]:
    rh = [("ETag", RUN_ETAG)]
    if c.cache_control:
        rh.insert(0, ("Cache-Control", c.cache_control))
    return rh


# -- the run's face -----------------------------------------------------------------------
def run_face(
    trace: Trace,
    dist: Distribution,
    down: list[tuple[float, float]],
    invalidate_at_s: float | None,
    chunk_s: float = 7.0,
) -> list[tuple[str, int, float, str]]:
    rules: list[ClassRules] = [
        class_rules(
            dist,
            c.method,
            f"{c.prefix}/0",
            headers=c.headers,
            response_headers=response_headers(c),
            object_bytes=size_of(0),
        )
        for c in CLASSES
    ]
    key_ids: dict[str, int] = {}
    kid = np.array([key_ids.setdefault(r.key_text, len(key_ids)) for r in rules])
    chain = TierChain(rules, (BIG, BIG, BIG))
    ok_status = np.array([r.ok_status for r in rules], dtype=np.int16)
    down_status = np.array([c.down_status for c in CLASSES], dtype=np.int16)
    # chunk boundaries: every chunk_s, and where the world changes (as in the engine)
    cuts = {round(x * NS) for x in np.arange(0, trace.t_ns[-1] / NS + chunk_s, chunk_s)}
    cuts |= {round(x * NS) for pair in down for x in pair} | {int(trace.t_ns[-1]) + 1}
    if invalidate_at_s is not None:
        cuts.add(round(invalidate_at_s * NS))
    bounds = np.searchsorted(trace.t_ns, sorted(cuts))
    out: list[tuple[str, int, float, str]] = []
    done_invalidation = invalidate_at_s is None
    edges = np.array(sorted(EDGES))
    rec_of = np.array([EDGES[e][0] for e in edges])
    shield_of = np.array([EDGES[e][1] for e in edges])
    for a, b in itertools.pairwise(bounds):
        if a == b:
            continue
        t = trace.t_ns[a:b]
        if not done_invalidation and t[0] >= invalidate_at_s * NS:  # type: ignore[operator]

            def pred(key: int) -> bool:
                c = next(i for i in range(len(CLASSES)) if kid[i] == key >> 27)
                path = f"{CLASSES[c].prefix}/{key & ((1 << 27) - 1)}"
                return matches_any(INVALIDATION, path)

            chain.invalidate(pred)
            done_invalidation = True
        cls = trace.cls[a:b]
        e = trace.edge[a:b]
        where = np.searchsorted(edges, e)
        up = not down_at(int(t[0]), down)
        co = chain.serve(
            t,
            e,
            rec_of[where],
            shield_of[where],
            cls,
            (kid[cls] << 27) | trace.obj[a:b],
            np.array([size_of(int(o)) for o in trace.obj[a:b]]),
            np.full(b - a, up),
            down_status[cls],
        )
        fetched = np.where(up, 200, down_status[cls]).astype(np.int16)
        co.settle(fetched, ok_status[cls])
        for i in range(b - a):
            out.append(
                (
                    RESULTS[co.result[i]],
                    int(co.status[i]),
                    co.ttl_ns[i] / NS,
                    TIERS[co.level[i]],
                )
            )
    return out


# -- the live edge's face -----------------------------------------------------------------
def pipeline_face(
    trace: Trace,
    dist: Distribution,
    down: list[tuple[float, float]],
    invalidate_at_s: float | None,
) -> list[tuple[str, int, float, str]]:
    pipe = EdgePipeline(dist, pop="TST1-C1")
    stores: dict[tuple[str, int], HttpStore] = {}

    def store(name: str, node: int) -> HttpStore:
        s = stores.get((name, node))
        if s is None:
            s = stores[(name, node)] = HttpStore(BIG, "lru", name=name)
        return s

    out: list[tuple[str, int, float, str]] = []
    done_invalidation = invalidate_at_s is None
    for i in range(len(trace)):
        t_ns = int(trace.t_ns[i])
        if not done_invalidation and t_ns >= invalidate_at_s * NS:  # type: ignore[operator]
            for s in stores.values():
                s.invalidate(INVALIDATION)
            done_invalidation = True
        c = CLASSES[int(trace.cls[i])]
        e = int(trace.edge[i])
        rec, shield = EDGES[e]
        tiers = [store("edge", e)]
        if rec >= 0:
            tiers.append(store("regional", rec))
        if shield >= 0:
            tiers.append(store("shield", shield))
        size = size_of(int(trace.obj[i]))
        is_down = down_at(t_ns, down)

        def origin(oreq: object, c: Cls = c, size: int = size, is_down: bool = is_down) -> object:
            if is_down:  # the run's origins answer a down origin's status, without headers
                return OriginResponse(c.down_status, Headers([]), size=0)
            if c.method != "GET":
                return OriginResponse(200, Headers([]), size=size)
            rh = Headers(response_headers(c))
            if getattr(oreq, "headers", Headers([])).get("if-none-match") == RUN_ETAG:
                return OriginResponse(304, rh, size=0)
            return OriginResponse(200, rh, size=size)

        req = Request(c.method, f"{c.prefix}/{int(trace.obj[i])}", "", Headers(list(c.headers)))
        resp = pipe.handle(req, tiers, t_ns / NS, origin)  # type: ignore[arg-type]
        out.append((log_result(resp), resp.status, resp.ttl_s, resp.served_by))
    return out


def first_difference(
    trace: Trace, a: list[tuple[str, int, float, str]], b: list[tuple[str, int, float, str]]
) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y:
            c = CLASSES[int(trace.cls[i])]
            return (
                f"request {i} at {trace.t_ns[i] / NS} s, edge {trace.edge[i]}, "
                f"{c.method} {c.prefix}/{trace.obj[i]} {c.headers}: run {x} != live {y}"
            )
    return ""


def test_the_faces_agree_on_a_long_trace() -> None:
    trace = make_trace(110_000, 3000, seed=13)
    dist = cdn_distribution(SPEC)
    run = run_face(trace, dist, DOWN, INVALIDATE_AT_S)
    live = pipeline_face(trace, dist, DOWN, INVALIDATE_AT_S)
    assert first_difference(trace, run, live) == ""
    # the trace exercises what it claims to
    kinds = {(r, tier) for r, _, _, tier in run}
    statuses = {s for _, s, _, _ in run}
    for expected in [
        ("Hit", "edge"),
        ("Miss", "regional"),
        ("RefreshHit", "regional"),
        ("OriginShieldHit", "shield"),
        ("Miss", "origin"),
        ("RefreshHit", "origin"),
        ("Error", "edge"),  # cached errors and the refused method
        ("Error", "regional"),
        ("Error", "origin"),
    ]:
        assert expected in kinds, expected
    assert {200, 206, 304, 403, 503, 504} <= statuses


def test_errors_are_cached_for_the_error_ttl_not_the_content_ttl() -> None:
    """After the origin recovers, errors stop within the error caching TTL (10 s; 4 s for
    504 here), although the content's max-age is 30 s (the bug of issue 13)."""
    trace = make_trace(60_000, 1000, seed=3)
    run = run_face(trace, cdn_distribution(SPEC), [(600, 660)], None)
    last_error = max(
        trace.t_ns[i] / NS
        for i, (r, s, _, _) in enumerate(run)
        if r == "Error" and s in (503, 504) and trace.t_ns[i] >= 660 * NS
    )
    assert 660 <= last_error < 670
    get = [CLASSES[c].method == "GET" for c in trace.cls]
    assert {ttl for g, (_, s, ttl, _) in zip(get, run, strict=True) if g and s == 503} == {10.0}
    assert {ttl for g, (_, s, ttl, _) in zip(get, run, strict=True) if g and s == 504} == {4.0}
    # POST answers are never cached, errors included
    assert {ttl for g, (_, s, ttl, _) in zip(get, run, strict=True) if not g and s == 503} == {0}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    down_start=st.integers(0, 60),
    down_len=st.integers(0, 30),
    chunk_s=st.sampled_from([0.5, 3.0, 11.0]),
    objects=st.integers(1, 6),
)
def test_the_faces_agree_on_short_traces(
    seed: int, n: int, down_start: int, down_len: int, chunk_s: float, objects: int
) -> None:
    trace = make_trace(n, 90, seed, objects=objects)
    down = [(float(down_start), float(down_start + down_len))]
    inv = float(np.random.default_rng(seed).integers(0, 90))
    dist = cdn_distribution(SPEC)
    run = run_face(trace, dist, down, inv, chunk_s=chunk_s)
    live = pipeline_face(trace, dist, down, inv)
    assert first_difference(trace, run, live) == ""


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_run_origin_errors_without_headers_use_the_minimum_ttl(status: int) -> None:
    dist = cdn_distribution(SPEC)
    rules = class_rules(
        dist, "GET", "/static/0", response_headers=[("Cache-Control", "max-age=30")]
    )
    assert rules.error_ttl_ns(status) == (4 if status == 504 else 10) * NS
