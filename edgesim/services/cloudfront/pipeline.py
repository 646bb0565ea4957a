"""The request-handling state machine of one CloudFront edge tier chain (spec §1.1–§1.9).

I/O-free: :meth:`EdgePipeline.decide` looks the request up in the tiers (edge first, then
regional edge cache, then Origin Shield, as the caller passes them) and returns either

* :class:`Respond`: the answer is ready (a hit somewhere in the chain, a stale copy
  served under ``stale-while-revalidate`` — then ``revalidate`` holds a background
  :class:`Fetch` — or a refusal), or
* :class:`Fetch`: the caller must send :attr:`Fetch.origin_request` to the origin (doing
  failover, timeouts and request collapsing on :attr:`Fetch.collapse_key` itself) and
  then call :meth:`EdgePipeline.complete` with the
  :class:`~edgesim.services.cloudfront.message.OriginResponse` or
  :class:`~edgesim.services.cloudfront.message.OriginFailure`, which stores the object in every
  tier the request passed through and returns the viewer's :class:`EdgeResponse`.

:meth:`EdgePipeline.handle` runs both steps with a synchronous origin callable (the
differential test replays run traces through it). Scenario runs decide requests in bulk with
:mod:`~edgesim.services.cloudfront.vector`, which is built from the same functions.

Result types (``X-Cache``, spec §1.4; edgesim's mapping):

* ``Hit``: served by the edge tier's own copy (fresh, within ``stale-while-revalidate``,
  or stale because the origin failed);
* ``RefreshHit``: the edge had an expired copy and it was revalidated (304 from the origin,
  or an upper tier held the same version fresh);
* ``Miss``: the edge had no usable copy (served by an upper tier or the origin), and every
  request that bypasses the caches;
* ``Error``: the answer's status is 4xx/5xx (the access-log meaning of ``Error``).

Response headers: ``X-Cache``, ``Via: 1.1 <32 hex>.cloudfront.net (CloudFront)``
(appended to an origin ``Via``), ``X-Amz-Cf-Pop`` and ``X-Amz-Cf-Id`` (56 characters from
a counter hashed with the seed: deterministic), and ``Age`` whenever the body came from a
stored object.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from edgesim.services.cloudfront.behaviors import BehaviorTable, CacheBehavior
from edgesim.services.cloudfront.collapse import collapsing_enabled, response_collapsible
from edgesim.services.cloudfront.key import (
    CacheKey,
    OriginRequest,
    build_cache_key,
    forwarded_request,
)
from edgesim.services.cloudfront.message import (
    Headers,
    OriginFailure,
    OriginOutcome,
    OriginResponse,
    Request,
    format_http_date,
    parse_http_date,
)
from edgesim.services.cloudfront.ranges import (
    MAX_CACHEABLE_OBJECT_BYTES,
    evaluate_range,
    multipart_body,
    slice_body,
)
from edgesim.services.cloudfront.store import CachedObject, Freshness, HttpStore
from edgesim.services.cloudfront.ttl import (
    CACHEABLE_METHODS,
    DEFAULT_ERROR_CACHING_MIN_TTL_S,
    CacheDecision,
    decide_ttl,
    error_ttl_s,
)

__all__ = [
    "STALE_ON_ERROR_STATUSES",
    "X_CACHE",
    "Action",
    "Distribution",
    "EdgePipeline",
    "EdgeResponse",
    "Fetch",
    "RequestIdGenerator",
    "Respond",
    "ResultType",
    "answer_status",
    "cloudfront_headers",
    "log_result",
    "stores",
    "via_host",
]

ResultType = Literal["Hit", "RefreshHit", "Miss", "Error"]
X_CACHE: Final[dict[str, str]] = {
    "Hit": "Hit from cloudfront",
    "RefreshHit": "RefreshHit from cloudfront",
    "Miss": "Miss from cloudfront",
    "Error": "Error from cloudfront",
}
STALE_ON_ERROR_STATUSES: Final = frozenset({500, 502, 503, 504})
"""Origin statuses on which a stale copy is served (spec §1.2, third-party test)."""
_NOT_MODIFIED_KEEP: Final = (
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "last-modified",
    "vary",
)
_HOP_BY_HOP: Final = ("connection", "keep-alive", "transfer-encoding", "content-length")


@dataclass(frozen=True)
class Distribution:
    """A CloudFront distribution as far as HTTP caching goes."""

    id: str = "E1EDGESIM0000"
    domain: str = "d111111abcdef8.cloudfront.net"
    behaviors: BehaviorTable = field(default_factory=BehaviorTable)
    error_caching_min_ttl_s: float = DEFAULT_ERROR_CACHING_MIN_TTL_S
    max_cacheable_bytes: int = MAX_CACHEABLE_OBJECT_BYTES
    error_caching_min_ttl_by_status: tuple[tuple[int, float], ...] = ()
    """Custom error responses: (status, Error Caching Minimum TTL) pairs overriding the
    default for those statuses."""

    def error_caching_min_ttl(self, status: int) -> float:
        """The Error Caching Minimum TTL of ``status`` (seconds)."""
        for code, ttl in self.error_caching_min_ttl_by_status:
            if code == status:
                return ttl
        return self.error_caching_min_ttl_s


def via_host(pop: str, seed: int = 0) -> str:
    """The ``<32 hex>.cloudfront.net`` host of ``Via`` for one PoP (deterministic)."""
    h = hashlib.blake2b(f"via|{seed}|{pop}".encode(), digest_size=16).hexdigest()
    return f"{h}.cloudfront.net"


class RequestIdGenerator:
    """Opaque ``X-Amz-Cf-Id`` values from a seeded counter (no global randomness)."""

    def __init__(self, seed: int = 0, pop: str = "") -> None:
        self.seed = seed
        self.pop = pop
        self.counter = 0

    def next(self) -> str:
        """The next id: 56 URL-safe base64 characters."""
        self.counter += 1
        raw = hashlib.blake2b(
            f"id|{self.seed}|{self.pop}|{self.counter}".encode(), digest_size=40
        ).digest()
        return base64.urlsafe_b64encode(raw).decode("ascii")


def cloudfront_headers(
    base: Headers,
    result: ResultType,
    *,
    pop: str,
    via: str,
    request_id: str,
    age: str | None = None,
) -> Headers:
    """``base`` plus CloudFront's response headers (X-Cache, Via, Pop, Id, Age)."""
    h = base.without("x-cache", "x-amz-cf-pop", "x-amz-cf-id", "via", "age")
    items = list(h.items)
    if age is not None:
        items.append(("Age", age))
    via_value = f"1.1 {via} (CloudFront)"
    old_via = base.get("via")
    items.append(("Via", f"{old_via}, {via_value}" if old_via else via_value))
    items.append(("X-Cache", X_CACHE[result]))
    items.append(("X-Amz-Cf-Pop", pop))
    items.append(("X-Amz-Cf-Id", request_id))
    return Headers(items)


@dataclass(frozen=True)
class EdgeResponse:
    """What the edge answers the viewer."""

    status: int
    headers: Headers
    body: bytes | None
    """The payload; None when only sizes are modelled; ``b""`` for HEAD/304."""
    size: int
    """Payload bytes."""
    result: ResultType
    served_by: str
    """Tier name whose copy answered, ``"origin"``, or ``"edge"`` for generated answers."""
    request_id: str
    stale: bool = False
    """A stale copy was served (stale-while-revalidate or stale-on-error)."""
    stored: bool = False
    """The origin's response was stored in the tiers."""
    shareable: bool = False
    """Collapsed followers may be answered from the cache now (spec §1.5)."""
    ttl_s: float = 0.0
    """Freshness lifetime of the stored object that answered, or that the answer was
    stored with (0 when nothing was stored)."""
    full_size: int = 0
    """Payload bytes before a HEAD dropped them (a HEAD's ``Content-Length``)."""

    @property
    def x_cache(self) -> str:
        """The ``X-Cache`` value."""
        return X_CACHE[self.result]


def stores(
    decision: CacheDecision, status: int, body_size: int, headers: Headers, max_bytes: int
) -> bool:
    """Whether an origin answer is stored: cacheable by the TTL decision, not a partial or
    304 answer, not too large, and either fresh for a while or revalidatable."""
    return (
        decision.cacheable
        and status not in (206, 304)
        and body_size <= max_bytes
        and (decision.ttl_s > 0 or _has_validators(headers))
    )


def answer_status(request: Request, headers: Headers, size: int) -> int:
    """The status a viewer gets for a stored or fetched 200 object of ``size`` bytes: 304
    when its conditional request is satisfied (RFC 9110 §13), 206 or 416 for a range
    request (spec §1.9), else 200."""
    if request.method in ("GET", "HEAD") and _not_modified(request, headers):
        return 304
    if request.method == "GET" and "range" in request.headers:
        d = evaluate_range(
            request.headers.get("range"),
            size,
            if_range=request.headers.get("if-range"),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )
        return 200 if d.kind == "full" else 416 if d.kind == "unsatisfiable" else 206
    return 200


def log_result(resp: EdgeResponse) -> str:
    """The access-log result type: ``OriginShieldHit`` for an answer Origin Shield held,
    else the ``X-Cache`` result type."""
    if resp.served_by == "shield" and resp.result in ("Miss", "RefreshHit"):
        return "OriginShieldHit"
    return resp.result


@dataclass(frozen=True)
class Fetch:
    """An origin fetch the caller must perform, then hand to :meth:`EdgePipeline.complete`."""

    origin_request: OriginRequest
    request: Request
    behavior: CacheBehavior
    request_id: str
    key: CacheKey | None = None
    """None when the request bypasses every cache."""
    tiers: tuple[HttpStore, ...] = ()
    """Tiers the request passed through (filled on the way back)."""
    edge_copy: CachedObject | None = None
    """The edge tier's expired copy, if any (a 304 then makes a RefreshHit)."""
    validator: CachedObject | None = None
    """The stale copy whose validators were sent (revalidation), if any."""
    stale: tuple[CachedObject, ...] = ()
    """Expired copies found in the tiers (for stale-if-error)."""
    collapse_key: str | None = None
    """Key to collapse simultaneous fetches on, or None when collapsing is disabled."""
    background: bool = False
    """A stale-while-revalidate refresh: the viewer was already answered."""


@dataclass(frozen=True)
class Respond:
    """The viewer's answer is ready; perform ``revalidate`` in the background if set."""

    response: EdgeResponse
    revalidate: Fetch | None = None


Action = Respond | Fetch


class EdgePipeline:
    """CloudFront's caching logic for one distribution at one PoP (module docstring)."""

    def __init__(self, distribution: Distribution, *, pop: str = "NRT57-C1", seed: int = 0):
        self.distribution = distribution
        self.pop = pop
        self.via = via_host(pop, seed)
        self.ids = RequestIdGenerator(seed, pop)

    # -- step 1 ---------------------------------------------------------------------
    def decide(self, request: Request, tiers: Sequence[HttpStore], now_s: float) -> Action:
        """Look ``request`` up along ``tiers`` (edge first); see the module docstring."""
        rid = self.ids.next()
        beh = self.distribution.behaviors.match(request.path)
        method = request.method
        if method not in beh.allowed_methods:
            return Respond(self._generated(403, "method not allowed", rid, now_s))
        policy = beh.cache_policy
        cacheable = method in CACHEABLE_METHODS or (method == "OPTIONS" and beh.cache_options)
        if not cacheable or policy.caching_disabled:
            fwd = forwarded_request(request, policy, beh.origin_request_policy)
            return Fetch(fwd, request, beh, rid)
        key = build_cache_key(self.distribution.id, request, policy)
        stale: list[CachedObject] = []
        edge_copy: CachedObject | None = None
        for i, store in enumerate(tiers):
            state, obj = store.lookup(key, now_s)
            if obj is None or (obj.head_only and method != "HEAD"):
                continue
            if obj.is_error and state is not Freshness.FRESH:
                continue  # an expired error is never served again (nor used as a copy)
            if state is Freshness.STALE:
                stale.append(obj)
                if i == 0:
                    edge_copy = obj
                continue
            # FRESH, STALE_WHILE_REVALIDATE or ERROR_HOLD: answer from this copy.
            lower = tuple(tiers[:i])
            copy = self._copy(obj, now_s, state)
            for t in lower:
                t.put(copy, now_s)
            if i == 0:
                result: ResultType = "Hit"
            elif edge_copy is not None and not obj.is_error and _same_version(edge_copy, obj):
                result = "RefreshHit"
            else:
                result = "Miss"
            resp = self._from_object(
                request, obj, result, store.name, rid, now_s, stale=state is not Freshness.FRESH
            )
            bg = None
            if state is Freshness.STALE_WHILE_REVALIDATE:
                bg = self._fetch(request, beh, key, tuple(tiers), obj, None, (obj,), rid)
                bg = replace(bg, background=True, collapse_key=None)
            return Respond(resp, bg)
        validator = None
        usable = [o for o in stale if o.has_validators]
        if usable:
            validator = max(usable, key=lambda o: o.stored_at_s)
        return self._fetch(request, beh, key, tuple(tiers), validator, edge_copy, tuple(stale), rid)

    def _fetch(
        self,
        request: Request,
        beh: CacheBehavior,
        key: CacheKey,
        tiers: tuple[HttpStore, ...],
        validator: CachedObject | None,
        edge_copy: CachedObject | None,
        stale: tuple[CachedObject, ...],
        rid: str,
    ) -> Fetch:
        fwd = forwarded_request(request, beh.cache_policy, beh.origin_request_policy)
        if validator is not None:
            extra = list(fwd.headers.items)
            if validator.etag is not None:
                extra.append(("If-None-Match", validator.etag))
            if validator.last_modified is not None:
                extra.append(("If-Modified-Since", validator.last_modified))
            fwd = replace(fwd, headers=Headers(extra))
        ck = key.text if collapsing_enabled(beh.cache_policy, beh.origin_request_policy) else None
        return Fetch(fwd, request, beh, rid, key, tiers, edge_copy, validator, stale, ck)

    # -- step 2 ---------------------------------------------------------------------
    def complete(self, fetch: Fetch, outcome: OriginOutcome, now_s: float) -> EdgeResponse:
        """Turn the origin's outcome into the viewer's answer, storing what is cacheable."""
        rid = fetch.request_id
        req = fetch.request
        if fetch.key is None:
            if isinstance(outcome, OriginFailure):
                return self._failure_response(outcome, rid, now_s)
            return self._passthrough(req, outcome, rid, stored=False, shareable=False, now_s=now_s)
        failed = isinstance(outcome, OriginFailure) or (
            isinstance(outcome, OriginResponse) and outcome.status in STALE_ON_ERROR_STATUSES
        )
        if failed:
            usable = [o for o in fetch.stale if o.stale_if_error_ok(now_s)]
            if usable:
                # edgesim's choice: the usable stale copy nearest the viewer (tiers are
                # listed edge first), held for the error's caching time (spec §1.6)
                best = usable[0]
                served = next(t.name for t in fetch.tiers if t.peek(best.key) is best)
                hold = self.hold_s(fetch.behavior, outcome, now_s)
                held = replace(best, error_hold_until_s=now_s + hold)
                for t in fetch.tiers:
                    t.put(held, now_s)
                result: ResultType = "Hit" if fetch.edge_copy is best else "Miss"
                return self._from_object(req, best, result, served, rid, now_s, stale=True)
            if isinstance(outcome, OriginFailure):
                status = 504 if outcome.kind == "timeout" else 502
                synth = OriginResponse(
                    status,
                    Headers(
                        [
                            ("Content-Type", "text/html"),
                            ("Date", format_http_date(now_s)),
                            ("Server", "CloudFront"),
                        ]
                    ),
                    _error_body(status),
                )
                return self._store_and_answer(fetch, synth, now_s, served_by="edge")
        assert isinstance(outcome, OriginResponse)
        if outcome.status == 304 and fetch.validator is not None:
            return self._refresh(fetch, fetch.validator, outcome, now_s)
        return self._store_and_answer(fetch, outcome, now_s, served_by="origin")

    def hold_s(self, beh: CacheBehavior, outcome: OriginOutcome, now_s: float) -> float:
        """How long a stale copy answers instead of a failed origin: the time the error
        would have been cached (an origin that did not answer sent no headers)."""
        if isinstance(outcome, OriginFailure):
            status, headers = (504 if outcome.kind == "timeout" else 502), None
        else:
            status, headers = outcome.status, outcome.headers
        ttl = error_ttl_s(
            beh.cache_policy,
            status,
            headers,
            now_s,
            self.distribution.error_caching_min_ttl(status),
        )
        return ttl or 0.0

    def _store_and_answer(
        self, fetch: Fetch, resp: OriginResponse, now_s: float, *, served_by: str
    ) -> EdgeResponse:
        assert fetch.key is not None
        key = fetch.key
        beh = fetch.behavior
        policy = beh.cache_policy
        method = fetch.origin_request.method
        decision = decide_ttl(
            policy,
            resp.status,
            resp.headers,
            now_s,
            method=method,
            cache_options=beh.cache_options,
            error_caching_min_ttl_s=self.distribution.error_caching_min_ttl(resp.status),
        )
        store_it = stores(
            decision,
            resp.status,
            resp.body_size,
            resp.headers,
            self.distribution.max_cacheable_bytes,
        )
        stored = False
        if store_it:
            headers = resp.headers.without(*_HOP_BY_HOP)
            if not _cookies_forwarded(beh):
                headers = headers.without("set-cookie")
            obj = CachedObject(
                key=key,
                status=resp.status,
                headers=headers,
                body=resp.body,
                body_size=resp.body_size,
                stored_at_s=now_s,
                ttl_s=decision.ttl_s,
                swr_s=decision.swr_s,
                sie_s=decision.sie_s,
                initial_age_s=_age_of(resp.headers),
                head_only=method == "HEAD",
                is_error=decision.is_error,
            )
            for t in fetch.tiers:
                stored = t.put(obj, now_s) or stored
        else:
            for t in fetch.tiers:
                t.remove(key)
        shareable = stored and decision.ttl_s > 0 and response_collapsible(policy, resp.headers)
        if served_by == "edge":
            return self._finish(
                fetch.request,
                resp.status,
                resp.headers,
                resp.body,
                resp.body_size,
                "Error",
                "edge",
                fetch.request_id,
                now_s,
                stored=stored,
                shareable=shareable,
                ttl_s=decision.ttl_s if stored else 0.0,
            )
        return self._passthrough(
            fetch.request,
            resp,
            fetch.request_id,
            stored=stored,
            shareable=shareable,
            now_s=now_s,
            ttl_s=decision.ttl_s if stored else 0.0,
        )

    def _refresh(
        self, fetch: Fetch, old: CachedObject, resp: OriginResponse, now_s: float
    ) -> EdgeResponse:
        assert fetch.key is not None
        beh = fetch.behavior
        update = Headers([(k, v) for k, v in resp.headers if k.lower() not in _HOP_BY_HOP])
        merged = old.headers.merged(update)
        decision = decide_ttl(
            beh.cache_policy,
            old.status,
            merged,
            now_s,
            method="HEAD" if old.head_only else "GET",
            cache_options=beh.cache_options,
            error_caching_min_ttl_s=self.distribution.error_caching_min_ttl(old.status),
        )
        new = replace(
            old,
            headers=merged,
            stored_at_s=now_s,
            ttl_s=decision.ttl_s,
            swr_s=decision.swr_s,
            sie_s=decision.sie_s,
            initial_age_s=_age_of(resp.headers),
            error_hold_until_s=-math.inf,
        )
        if decision.cacheable:
            for t in fetch.tiers:
                t.put(new, now_s)
        else:
            for t in fetch.tiers:
                t.remove(fetch.key)
        result: ResultType = "RefreshHit" if fetch.edge_copy is not None else "Miss"
        return self._from_object(fetch.request, new, result, "origin", fetch.request_id, now_s)

    # -- answers --------------------------------------------------------------------
    @staticmethod
    def _copy(obj: CachedObject, now_s: float, state: Freshness) -> CachedObject:
        """The copy a lower tier stores of an upper tier's answer. edgesim's choice (AWS
        documents nothing here): a fresh object starts a full lifetime in the lower tier
        (each tier counts its own ``Age``); a stored error or a stale copy held after an
        origin failure keeps its expiry."""
        if state is Freshness.FRESH and not obj.is_error:
            return replace(obj, stored_at_s=now_s, initial_age_s=0.0, extra={})
        return replace(obj, extra={})

    def _from_object(
        self,
        request: Request,
        obj: CachedObject,
        result: ResultType,
        served_by: str,
        rid: str,
        now_s: float,
        *,
        stale: bool = False,
    ) -> EdgeResponse:
        return self._finish(
            request,
            obj.status,
            obj.headers,
            obj.body,
            obj.body_size,
            result,
            served_by,
            rid,
            now_s,
            age=obj.age_header(now_s),
            stale=stale,
            stored=True,
            shareable=True,
            ttl_s=obj.ttl_s,
        )

    def _passthrough(
        self,
        request: Request,
        resp: OriginResponse,
        rid: str,
        *,
        stored: bool,
        shareable: bool,
        now_s: float,
        ttl_s: float = 0.0,
    ) -> EdgeResponse:
        return self._finish(
            request,
            resp.status,
            resp.headers.without(*_HOP_BY_HOP),
            resp.body,
            resp.body_size,
            "Miss",
            "origin",
            rid,
            now_s,
            stored=stored,
            shareable=shareable,
            ttl_s=ttl_s,
        )

    def _failure_response(self, failure: OriginFailure, rid: str, now_s: float) -> EdgeResponse:
        status = 504 if failure.kind == "timeout" else 502
        return self._generated(status, "origin failure", rid, now_s)

    def _generated(self, status: int, why: str, rid: str, now_s: float) -> EdgeResponse:
        body = _error_body(status)
        headers = Headers(
            [
                ("Content-Type", "text/html"),
                ("Date", format_http_date(now_s)),
                ("Server", "CloudFront"),
            ]
        )
        h = cloudfront_headers(headers, "Error", pop=self.pop, via=self.via, request_id=rid)
        return EdgeResponse(status, h, body, len(body), "Error", "edge", rid)

    def _finish(
        self,
        request: Request,
        status: int,
        headers: Headers,
        body: bytes | None,
        size: int,
        result: ResultType,
        served_by: str,
        rid: str,
        now_s: float,
        *,
        age: str | None = None,
        stale: bool = False,
        stored: bool = False,
        shareable: bool = False,
        ttl_s: float = 0.0,
    ) -> EdgeResponse:
        method = request.method
        viewer = answer_status(request, headers, size) if status == 200 else status
        if viewer == 304:
            status = 304
            headers = Headers([(k, v) for k, v in headers if k.lower() in _NOT_MODIFIED_KEEP])
            body, size = (b"" if body is not None else None), 0
        elif viewer != status:
            status, headers, body, size = self._apply_range(request, headers, body, size, rid)
        full_size = size
        if method == "HEAD":
            body, size = (b"" if body is not None else None), 0
        if status >= 400:  # 4xx/5xx are Error (access-log meaning), a 416 included
            result = "Error"
        h = cloudfront_headers(headers, result, pop=self.pop, via=self.via, request_id=rid, age=age)
        return EdgeResponse(
            status,
            h,
            body,
            size,
            result,
            served_by,
            rid,
            stale,
            stored,
            shareable,
            ttl_s,
            full_size,
        )

    @staticmethod
    def _apply_range(
        request: Request, headers: Headers, body: bytes | None, size: int, rid: str
    ) -> tuple[int, Headers, bytes | None, int]:
        d = evaluate_range(
            request.headers.get("range"),
            size,
            if_range=request.headers.get("if-range"),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )
        if d.kind == "full":
            return 200, headers, body, size
        if d.kind == "unsatisfiable":
            h = (
                headers.without("content-type", "etag", "last-modified")
                .with_("Content-Type", "text/html")
                .with_("Content-Range", d.content_range or "")
            )
            return 416, h, (b"" if body is not None else None), 0
        if d.kind == "single":
            r = d.ranges[0]
            part = slice_body(body, r) if body is not None else None
            return 206, headers.with_("Content-Range", d.content_range or ""), part, r.size
        boundary = "CloudFront" + hashlib.blake2b(rid.encode(), digest_size=8).hexdigest()
        payload, psize, ctype = multipart_body(
            body, d.ranges, size, headers.get("content-type"), boundary
        )
        return 206, headers.with_("Content-Type", ctype), payload, psize

    # -- convenience ----------------------------------------------------------------
    def handle(
        self,
        request: Request,
        tiers: Sequence[HttpStore],
        now_s: float,
        origin: Callable[[OriginRequest], OriginOutcome],
    ) -> EdgeResponse:
        """``decide`` then, if needed, call ``origin`` and ``complete``.

        A stale-while-revalidate background refresh is performed right after the viewer's
        answer is built (synchronously, at the same ``now_s``).
        """
        action = self.decide(request, tiers, now_s)
        if isinstance(action, Respond):
            if action.revalidate is not None:
                self.complete(action.revalidate, origin(action.revalidate.origin_request), now_s)
            return action.response
        return self.complete(action, origin(action.origin_request), now_s)


# -- helpers --------------------------------------------------------------------------
def _error_body(status: int) -> bytes:
    return (
        f"<html><head><title>{status} ERROR</title></head><body><h1>{status} ERROR</h1>"
        "<p>The request could not be satisfied.</p><p>Generated by cloudfront (CloudFront)"
        "</p></body></html>"
    ).encode()


def _has_validators(headers: Headers) -> bool:
    return "etag" in headers or "last-modified" in headers


def _age_of(headers: Headers) -> float:
    raw = (headers.get("age") or "").split(",")[0].strip()
    return float(int(raw)) if raw.isdigit() else 0.0


def _same_version(a: CachedObject, b: CachedObject) -> bool:
    if a.etag is not None and b.etag is not None:
        return _weak_equal(a.etag, b.etag)
    return a.last_modified is not None and a.last_modified == b.last_modified


def _cookies_forwarded(beh: CacheBehavior) -> bool:
    orp = beh.origin_request_policy
    return beh.cache_policy.cookies != "none" or (orp is not None and orp.cookies != "none")


def _weak_equal(a: str, b: str) -> bool:
    return a.strip().removeprefix("W/") == b.strip().removeprefix("W/")


def _not_modified(request: Request, headers: Headers) -> bool:
    """RFC 9110 §13.1.2/§13.1.3 evaluated against the response being sent."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        etag = headers.get("etag")
        if inm.strip() == "*":
            return True
        if etag is None:
            return False
        return any(_weak_equal(t, etag) for t in inm.split(","))
    ims = parse_http_date(request.headers.get("if-modified-since"))
    lm = parse_http_date(headers.get("last-modified"))
    return ims is not None and lm is not None and lm <= ims
