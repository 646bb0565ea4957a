"""CloudFront's HTTP caching semantics, I/O-free (``docs/cloudfront-http.md``).

Modules follow the sections of the project's CloudFront reference:

* :mod:`~edgesim.cdn.ttl` — cache policies and TTL decisions (§1.2, §1.6);
* :mod:`~edgesim.cdn.key` — cache keys and forwarded requests (§1.3);
* :mod:`~edgesim.cdn.behaviors` — cache behaviours by path pattern;
* :mod:`~edgesim.cdn.ranges` — Range requests (§1.9);
* :mod:`~edgesim.cdn.invalidation` — invalidation paths and limits (§1.8);
* :mod:`~edgesim.cdn.store` — one tier's HTTP object store (§1.2);
* :mod:`~edgesim.cdn.collapse` — request collapsing (§1.5);
* :mod:`~edgesim.cdn.failover` — origin groups and timeouts (§1.7);
* :mod:`~edgesim.cdn.pipeline` — the request state machine and response headers (§1.4).

Nothing here opens sockets, reads clocks or draws random numbers: callers pass times.
"""

from edgesim.cdn.behaviors import BehaviorTable, CacheBehavior
from edgesim.cdn.key import CacheKey, OriginRequest, OriginRequestPolicy, build_cache_key
from edgesim.cdn.message import Headers, OriginFailure, OriginResponse, Request
from edgesim.cdn.pipeline import (
    Distribution,
    EdgePipeline,
    EdgeResponse,
    Fetch,
    Respond,
)
from edgesim.cdn.store import CachedObject, Freshness, HttpStore
from edgesim.cdn.ttl import CACHING_DISABLED, CACHING_OPTIMIZED, CachePolicy, decide_ttl

__all__ = [
    "CACHING_DISABLED",
    "CACHING_OPTIMIZED",
    "BehaviorTable",
    "CacheBehavior",
    "CacheKey",
    "CachePolicy",
    "CachedObject",
    "Distribution",
    "EdgePipeline",
    "EdgeResponse",
    "Fetch",
    "Freshness",
    "Headers",
    "HttpStore",
    "OriginFailure",
    "OriginRequest",
    "OriginRequestPolicy",
    "OriginResponse",
    "Request",
    "Respond",
    "build_cache_key",
    "decide_ttl",
]
