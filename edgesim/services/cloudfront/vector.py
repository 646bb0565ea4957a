"""The vectorised face of the CloudFront model: many requests through the tiers at once.

Scenario runs send tens of thousands of requests per chunk through a distribution. This
module decides them with the same rules as the per-request face
(:class:`~edgesim.services.cloudfront.pipeline.EdgePipeline`, used by the live edges):

* :func:`class_rules` turns one *request class* (a workload's method, path, query string,
  headers and cookies, and its origin's response headers) into a :class:`ClassRules` row by
  calling the semantics functions themselves — behaviour matching, cache key, TTL decision,
  storage decision, collapsing rules; error TTLs come from
  :func:`~edgesim.services.cloudfront.ttl.error_ttl_s` per status; failover decisions from
  :func:`~edgesim.services.cloudfront.failover.next_action`. Nothing here re-states a rule.
* :class:`TierChain` keeps the tiers (edge locations, regional edge caches, Origin Shield)
  as compact caches keyed by ``int`` plus, per tier, a small table of stored errors and of
  stale copies held after an origin failure. Requests of a chunk whose origin can fill
  misses and whose keys have nothing in those tables are replayed in bulk (one compiled
  replay per cache, in time order); the others — keys with a stored error or held copy, and
  misses while the origin is down — walk the tiers one by one in time order (they are few:
  the tables hold entries for the error caching TTL only, ten seconds by default).

Within one chunk the world does not change (the engine applies failures and recoveries
between chunks), so an origin that is up fills every miss of the chunk and a down origin
fails every fetch with one known status. An origin that is up but fails single requests
(an endpoint's random errors or queue time-outs) is handled after the fact: that request
is answered with the error (or a stale copy) and its tiers store the error; requests of the
same chunk that the bulk replay already answered keep their answers (documented in
``docs/cloudfront-http.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from edgesim.cache.compact import make_fast_cache
from edgesim.services.cloudfront.collapse import collapsing_enabled, response_collapsible
from edgesim.services.cloudfront.failover import next_action
from edgesim.services.cloudfront.key import build_cache_key
from edgesim.services.cloudfront.message import HeaderInput, Headers, Request
from edgesim.services.cloudfront.pipeline import (
    STALE_ON_ERROR_STATUSES,
    Distribution,
    answer_status,
    stores,
)
from edgesim.services.cloudfront.ttl import CACHEABLE_METHODS, CachePolicy, decide_ttl, error_ttl_s

__all__ = [
    "EDGE",
    "ERROR",
    "HIT",
    "MISS",
    "ORIGIN",
    "REFRESH_HIT",
    "REGIONAL",
    "RESULTS",
    "SHIELD",
    "SHIELD_HIT",
    "TIERS",
    "ChainOut",
    "ClassRules",
    "TierChain",
    "class_rules",
    "failover_table",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
B = npt.NDArray[np.bool_]

RESULTS: Final = ("", "Hit", "RefreshHit", "Miss", "Error", "OriginShieldHit")
"""Result codes of runs (index = code): the access-log result types."""
HIT, REFRESH_HIT, MISS, ERROR, SHIELD_HIT = 1, 2, 3, 4, 5
TIERS: Final = ("edge", "regional", "shield", "origin")
"""Where an answer came from (index = level)."""
EDGE, REGIONAL, SHIELD, ORIGIN = 0, 1, 2, 3
_HELD: Final = 200
"""Status of a table entry that is a stale copy held after an origin failure."""
_NEVER: Final = -1


@dataclass(frozen=True)
class ClassRules:
    """What CloudFront does with one class of requests (decided once, by the semantics)."""

    behavior: str
    """The matched behaviour's path pattern."""
    target_origin: str
    method: str
    policy: CachePolicy
    allowed: bool
    """The behaviour allows the method (else CloudFront answers 403 itself)."""
    keyed: bool
    """The request is looked up in the caches (cacheable method, caching not disabled)."""
    stored: bool
    """The origin's 200 answer is stored."""
    ttl_ns: int
    stale_if_error_ns: int
    """How long past expiry a stale copy may answer for a failed origin: -1 without limit
    (no ``stale-if-error``), 0 never."""
    collapse: bool
    key_text: str
    """The cache key of the class's first object (tells classes with other keys apart)."""
    ok_status: int
    """The viewer's status when a 200 object answers (304 for a satisfied conditional
    request, 206 for a range, pipeline.answer_status)."""
    error_min_ttl_s: Callable[[int], float] = field(repr=False, compare=False)

    def error_ttl_ns(self, status: int) -> int:
        """How long an error answer without headers (the run's origins send none) is cached;
        0 when it is not."""
        ttl = error_ttl_s(self.policy, status, None, 0.0, self.error_min_ttl_s(status))
        return 0 if ttl is None else round(ttl * 1e9)


def class_rules(
    dist: Distribution,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: HeaderInput = (),
    response_headers: HeaderInput = (),
    object_bytes: int = 1,
    collapse: bool = True,
) -> ClassRules:
    """The rules for requests like ``method path?query`` with ``headers`` whose origin
    answers 200 with ``response_headers`` (the simulator's origins add an ``ETag``)."""
    beh = dist.behaviors.match(path)
    policy = beh.cache_policy
    m = method.upper()
    keyed = (
        m in CACHEABLE_METHODS or (m == "OPTIONS" and beh.cache_options)
    ) and not policy.caching_disabled
    rh = response_headers if isinstance(response_headers, Headers) else Headers(response_headers)
    decision = decide_ttl(policy, 200, rh, 0.0, method=m, cache_options=beh.cache_options)
    stored = keyed and stores(decision, 200, object_bytes, rh, dist.max_cacheable_bytes)
    req = Request(m, path, query, Headers(headers))
    key = build_cache_key(dist.id, req, policy)
    sie = decision.sie_s
    return ClassRules(
        behavior=beh.path_pattern,
        target_origin=beh.target_origin,
        method=m,
        policy=policy,
        allowed=m in beh.allowed_methods,
        keyed=keyed,
        stored=stored,
        ttl_ns=round(decision.ttl_s * 1e9) if stored else 0,
        stale_if_error_ns=_NEVER if sie is None else round(sie * 1e9),
        collapse=collapse
        and collapsing_enabled(policy, beh.origin_request_policy)
        and response_collapsible(policy, rh),
        key_text=key.text,
        ok_status=answer_status(req, rh, object_bytes),
        error_min_ttl_s=dist.error_caching_min_ttl,
    )


def failover_table(method: str, codes: Sequence[int]) -> npt.NDArray[np.bool_]:
    """``table[status]``: whether a primary origin's ``status`` sends the request to the
    secondary (built with :func:`~edgesim.services.cloudfront.failover.next_action`)."""
    out = np.zeros(600, dtype=bool)
    for status in range(600):
        out[status] = next_action(status, method, True, codes) == "failover"
    return out


@dataclass
class ChainOut:
    """Per request: the answer so far. ``fetch`` rows went to the origin; where ``status``
    is 0 the origin's status is the answer's."""

    result: I8
    status: npt.NDArray[np.int16]
    ttl_ns: I64
    level: I8
    """Where the answer came from: EDGE, REGIONAL, SHIELD or ORIGIN."""
    reached: I8
    """The highest cache tier looked up (EDGE, REGIONAL or SHIELD)."""
    fetch: B
    walked: B
    """Decided one by one (origin down, or a key with a stored error or held copy)."""
    stale_at_edge: B

    def settle(
        self, fetched_status: npt.NDArray[np.int16], ok_status: npt.NDArray[np.int16]
    ) -> None:
        """Final statuses and result types once the origin answered the ``fetch`` rows
        (``fetched_status``, any value elsewhere); ``ok_status``: each row's
        :attr:`ClassRules.ok_status`. 4xx/5xx answers are Error."""
        pending = self.status == 0
        origin = pending & self.fetch
        self.status[origin] = fetched_status[origin]
        self.status[pending & ~self.fetch] = 200
        ok200 = self.status == 200
        self.status[ok200] = ok_status[ok200]
        self.result[self.status >= 400] = ERROR


class TierChain:
    """The cache tiers of one distribution for runs (see the module docstring)."""

    def __init__(
        self,
        classes: Sequence[ClassRules],
        capacities: tuple[int, int, int],
        eviction: str = "lru",
    ) -> None:
        self.classes = list(classes)
        self.capacities = capacities
        self.eviction = eviction
        self.caches: tuple[dict[int, Any], dict[int, Any], dict[int, Any]] = ({}, {}, {})
        self.tables: tuple[dict[int, tuple[int, int, int]], ...] = ({}, {}, {})
        """Per tier: (node << 32 | key) -> (until ns, status, expiry ns): a stored error, or
        a stale copy held after an origin failure (status 200, and the copy's expiry)."""
        self.ttl = np.array([c.ttl_ns for c in self.classes], dtype=np.int64)
        self.keyed = np.array([c.keyed and c.allowed for c in self.classes], dtype=bool)
        self.stored = np.array([c.stored and c.allowed for c in self.classes], dtype=bool)
        self.allowed = np.array([c.allowed for c in self.classes], dtype=bool)
        self._err: dict[tuple[int, int], int] = {}

    # -- tiers ----------------------------------------------------------------------------
    def cache(self, level: int, node: int) -> Any:
        """The cache of tier ``level`` at ``node`` (created on first use)."""
        c = self.caches[level].get(node)
        if c is None:
            c = self.caches[level][node] = make_fast_cache(self.eviction, self.capacities[level])
        return c

    def error_ttl_ns(self, cls: int, status: int) -> int:
        """Cached :meth:`ClassRules.error_ttl_ns`."""
        got = self._err.get((cls, status))
        if got is None:
            got = self._err[(cls, status)] = self.classes[cls].error_ttl_ns(status)
        return got

    def troubled_keys(self, now_ns: int) -> I64:
        """Keys with a live entry in some tier's table (expired entries are dropped)."""
        keys: set[int] = set()
        for table in self.tables:
            dead = [k for k, ent in table.items() if ent[0] <= now_ns]
            for k in dead:
                del table[k]
            keys.update(k & 0xFFFFFFFF for k in table)
        return np.fromiter(sorted(keys), dtype=np.int64, count=len(keys))

    def invalidate(self, pred: Callable[[int], bool]) -> int:
        """Remove every object and table entry whose key satisfies ``pred``."""
        removed = 0
        for level in range(3):
            for c in self.caches[level].values():
                removed += c.remove_if(pred)
            table = self.tables[level]
            for k in [k for k in table if pred(k & 0xFFFFFFFF)]:
                del table[k]
        return removed

    # -- serving --------------------------------------------------------------------------
    def serve(
        self,
        t: I64,
        edge: I64,
        rec: I64,
        shield: I64,
        cls: I64,
        keys: I64,
        sizes: I64,
        fillable: B,
        down_status: npt.NDArray[np.int16],
        cacheable_size: B | None = None,
    ) -> ChainOut:
        """Decide a chunk's requests (in time order). ``rec``/``shield``: the node of the
        regional edge cache / Origin Shield each request passes through, -1 for none.
        ``fillable``: the origin fills misses (it is up); else its fetches fail with
        ``down_status``."""
        n = len(t)
        out = ChainOut(
            result=np.full(n, MISS, dtype=np.int8),
            status=np.zeros(n, dtype=np.int16),
            ttl_ns=np.zeros(n, dtype=np.int64),
            level=np.full(n, ORIGIN, dtype=np.int8),
            reached=np.zeros(n, dtype=np.int8),
            fetch=np.zeros(n, dtype=bool),
            walked=np.zeros(n, dtype=bool),
            stale_at_edge=np.zeros(n, dtype=bool),
        )
        if n == 0:
            return out
        refused = ~self.allowed[cls]
        out.result[refused] = ERROR
        out.status[refused] = 403
        out.level[refused] = EDGE
        cached = self.stored[cls]
        if cacheable_size is not None:
            cached &= cacheable_size
        ttl = self.ttl[cls]
        # errors are cached for every looked-up request, even where 200s are not stored
        keyed = self.keyed[cls]
        troubled = self.troubled_keys(int(t.min()))
        walk = keyed & ~fillable
        if len(troubled):
            walk |= keyed & np.isin(keys, troubled)
        bulk = cached & ~walk
        # requests with nothing to find in the caches go to the origin
        out.fetch[~refused & ~bulk & ~walk] = True
        # -- bulk: the origin fills misses; edge, regional, shield replays in time order
        need_up = np.zeros(n, dtype=bool)
        for node, sel in _groups(np.flatnonzero(bulk), edge):
            r = self.cache(EDGE, node).process(keys[sel], sizes[sel], t[sel], ttl[sel])
            hit = sel[r == 1]
            out.result[hit] = HIT
            out.level[hit] = EDGE
            need_up[sel[r != 1]] = True
            out.stale_at_edge[sel[r == 2]] = True
        up_rows = need_up
        for level, nodes in ((REGIONAL, rec), (SHIELD, shield)):
            here = up_rows & (nodes >= 0)
            out.reached[here] = level
            for node, sel in _groups(np.flatnonzero(here), nodes):
                r = self.cache(level, node).process(keys[sel], sizes[sel], t[sel], ttl[sel])
                hit = sel[r == 1]
                out.result[hit] = (
                    SHIELD_HIT
                    if level == SHIELD
                    else np.where(out.stale_at_edge[hit], REFRESH_HIT, MISS)
                )
                out.level[hit] = level
                up_rows[hit] = False
        out.fetch[up_rows] = True
        out.result[up_rows] = np.where(out.stale_at_edge[up_rows], REFRESH_HIT, MISS)
        out.ttl_ns[bulk] = ttl[bulk]
        # -- one by one: a down origin, or keys with a stored error or a held copy
        rows = np.flatnonzero(walk)
        if len(rows):
            # while the origin is down, a fresh edge copy answers as in the bulk replay
            quick = rows[~fillable[rows]]
            if len(quick) and len(troubled):
                quick = quick[~np.isin(keys[quick], troubled)]
            for node, sel in _groups(quick, edge):
                r = self.cache(EDGE, node).process(
                    keys[sel], sizes[sel], t[sel], ttl[sel], admit=False
                )
                hit = sel[r == 1]
                out.result[hit] = HIT
                out.level[hit] = EDGE
                out.ttl_ns[hit] = ttl[hit]
                walk[hit] = False
            rows = np.flatnonzero(walk)
            rows = rows[np.argsort(t[rows], kind="stable")]
            out.walked[rows] = True
            walk_one = self._walk
            got = [
                walk_one(ti, (e, r, s), c, k, z, f, d)
                for ti, e, r, s, c, k, z, f, d in zip(
                    t[rows].tolist(),
                    edge[rows].tolist(),
                    rec[rows].tolist(),
                    shield[rows].tolist(),
                    cls[rows].tolist(),
                    keys[rows].tolist(),
                    sizes[rows].tolist(),
                    fillable[rows].tolist(),
                    down_status[rows].tolist(),
                    strict=True,
                )
            ]
            if got:
                cols = np.array(got, dtype=np.int64).T
                out.result[rows] = cols[0]
                out.status[rows] = cols[1]
                out.ttl_ns[rows] = cols[2]
                out.level[rows] = cols[3]
                out.reached[rows] = cols[4]
                out.fetch[rows] = cols[5].astype(bool)
                out.stale_at_edge[rows] = cols[6].astype(bool)
        return out

    def _walk(
        self,
        t: int,
        nodes: tuple[int, int, int],
        c: int,
        k: int,
        size: int,
        fillable: bool,
        down_status: int,
    ) -> tuple[int, int, int, int, int, bool, bool]:
        """One request through the tiers, as EdgePipeline.decide/complete does it. Returns
        (result, status, ttl ns, level, reached, fetch, stale at edge)."""
        rules = self.classes[c]
        ttl = rules.ttl_ns
        tables = self.tables
        path = [(lv, node) for lv, node in enumerate(nodes) if node >= 0]
        stale: list[int] = []
        edge_stale = False
        below: list[tuple[int, int, Any]] = []
        reached = EDGE
        for lv, node in path:
            reached = lv
            tk = node << 32 | k
            table = tables[lv]
            ent = table.get(tk)
            cache = self.caches[lv].get(node) or self.cache(lv, node)
            if ent is not None:
                until, st, expiry = ent
                if t < until:
                    for lv2, node2, c2 in below:  # the copy a lower tier stores
                        tables[lv2][node2 << 32 | k] = ent
                        if st != _HELD:
                            c2.remove(k)
                        else:
                            c2.put(k, size, expiry, t)
                    if st == _HELD:
                        return (_found(lv, edge_stale), 200, ttl, lv, reached, False, edge_stale)
                    return (ERROR, st, self.error_ttl_ns(c, st), lv, reached, False, edge_stale)
                del table[tk]
            g = cache.get(k, t)
            if g == 1:
                for _, _, c2 in below:
                    c2.put(k, size, t + ttl, t)
                return (_found(lv, edge_stale), 200, ttl, lv, reached, False, edge_stale)
            if g == 2:
                stale.append(lv)
                edge_stale = edge_stale or lv == EDGE
            below.append((lv, node, cache))
        if fillable:
            if rules.stored:
                for _, _, c2 in below:
                    c2.put(k, size, t + ttl, t)
            return (REFRESH_HIT if edge_stale else MISS, 0, ttl, ORIGIN, reached, True, edge_stale)
        res, st, ttl2, level = self.fail(t, path, c, k, size, down_status, stale)
        return (res, st, ttl2, level, reached, True, edge_stale)

    def usable_stale(
        self, stale: list[int], path: list[tuple[int, int]], c: int, k: int, t: int
    ) -> list[int]:
        """The tiers (of ``stale``) whose stale copy may answer for a failed origin."""
        sie = self.classes[c].stale_if_error_ns
        if sie == 0:
            return []
        if sie < 0:
            return stale
        nodes = dict(path)
        # staleness <= stale-if-error: still fresh one nanosecond before t - sie
        return [lv for lv in stale if self.cache(lv, nodes[lv]).get(k, t - sie - 1) == 1]

    def fail(
        self,
        t: int,
        path: list[tuple[int, int]],
        c: int,
        k: int,
        size: int,
        status: int,
        stale: list[int],
    ) -> tuple[int, int, int, int]:
        """The origin answered ``status`` (an error, without headers): serve the nearest
        usable stale copy and hold it for the error's caching time, else answer the error
        and store it in every tier the request passed (EdgePipeline.complete). Returns
        (result, status, ttl ns, level)."""
        rules = self.classes[c]
        ettl = self.error_ttl_ns(c, status)
        usable = (
            self.usable_stale(stale, path, c, k, t) if status in STALE_ON_ERROR_STATUSES else []
        )
        if usable:
            best = usable[0]
            expiry = _expiry_ns(self.cache(best, dict(path)[best]), k, t)
            for lv, node in path:  # every tier stores the held copy
                self.tables[lv][node << 32 | k] = (t + ettl, _HELD, expiry)
                self.cache(lv, node).put(k, size, expiry, t)
            result = HIT if best == EDGE else SHIELD_HIT if best == SHIELD else MISS
            return result, 200, rules.ttl_ns, best
        for lv, node in path:
            if lv in stale:  # (the other tiers hold nothing under this key)
                self.cache(lv, node).remove(k)
            if ettl > 0:
                self.tables[lv][node << 32 | k] = (t + ettl, status, 0)
        return ERROR, status, ettl, ORIGIN


def _expiry_ns(cache: Any, key: int, now_ns: int) -> int:
    """When the (stale, present) object ``key`` expired: the cache's ``peek`` where it has
    one, else found by bisection on ``get`` (the compact caches keep milliseconds)."""
    peek = getattr(cache, "peek", None)
    if peek is not None:
        got = peek(key)
        return int(got[1]) if got is not None else now_ns
    lo, hi = 0, now_ns // 1_000_000 + 1  # fresh at lo ms?  not fresh at hi ms
    if cache.get(key, 0) != 1:
        return 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cache.get(key, mid * 1_000_000) == 1:
            lo = mid
        else:
            hi = mid
    return hi * 1_000_000


def _found(level: int, edge_stale: bool) -> int:
    """The result type of an answer from a stored copy at ``level`` (EdgePipeline.decide
    with log_result: an upper tier's copy is a RefreshHit when the edge had a stale copy
    of the same version, and Origin Shield's is OriginShieldHit)."""
    if level == EDGE:
        return HIT
    if level == SHIELD:
        return SHIELD_HIT
    return REFRESH_HIT if edge_stale else MISS


def _groups(rows: I64, nodes: I64) -> list[tuple[int, I64]]:
    """``rows`` split by ``nodes[rows]``, each part keeping the rows' order (time order)."""
    if len(rows) == 0:
        return []
    order = np.argsort(nodes[rows], kind="stable")
    rows = rows[order]
    keys = nodes[rows]
    cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], cut))
    return [(int(keys[a]), part) for a, part in zip(starts, np.split(rows, cut), strict=True)]
