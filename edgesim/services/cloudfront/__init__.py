"""CloudFront: one model, two faces (``docs/cloudfront-http.md`` is its spec).

The I/O-free semantics modules decide everything CloudFront decides for a request; the
live edges (:mod:`edgesim.live.edge`) call them per request through
:class:`~edgesim.services.cloudfront.pipeline.EdgePipeline`, and scenario runs call them
through the vectorised face (:mod:`~edgesim.services.cloudfront.vector`, driven by the
simulation target in :mod:`~edgesim.services.cloudfront.sim`), which builds its per-class
tables with the same functions.

* :mod:`~edgesim.services.cloudfront.ttl` — cache policies and TTL decisions (§1.2, §1.6);
* :mod:`~edgesim.services.cloudfront.key` — cache keys and forwarded requests (§1.3);
* :mod:`~edgesim.services.cloudfront.behaviors` — cache behaviours by path pattern;
* :mod:`~edgesim.services.cloudfront.ranges` — Range requests (§1.9);
* :mod:`~edgesim.services.cloudfront.invalidation` — invalidation paths and limits (§1.8);
* :mod:`~edgesim.services.cloudfront.store` — one tier's HTTP object store (§1.2);
* :mod:`~edgesim.services.cloudfront.collapse` — request collapsing (§1.5);
* :mod:`~edgesim.services.cloudfront.failover` — origin groups and timeouts (§1.7);
* :mod:`~edgesim.services.cloudfront.pipeline` — the request state machine and response
  headers (§1.4).

Nothing here opens sockets, reads clocks or draws random numbers: callers pass times.
The simulation face (``sim``: scenario model, service, report section) is imported lazily,
so importing the semantics does not import the engine.
"""

from typing import Any

from edgesim.services.cloudfront.behaviors import BehaviorTable, CacheBehavior
from edgesim.services.cloudfront.key import (
    CacheKey,
    OriginRequest,
    OriginRequestPolicy,
    build_cache_key,
)
from edgesim.services.cloudfront.message import Headers, OriginFailure, OriginResponse, Request
from edgesim.services.cloudfront.pipeline import (
    EdgePipeline,
    EdgeResponse,
    Fetch,
    Respond,
)
from edgesim.services.cloudfront.store import CachedObject, Freshness, HttpStore
from edgesim.services.cloudfront.ttl import (
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    CachePolicy,
    decide_ttl,
)

__all__ = [
    "CACHING_DISABLED",
    "CACHING_OPTIMIZED",
    "BehaviorTable",
    "CacheBehavior",
    "CacheKey",
    "CachePolicy",
    "CachedObject",
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


_LAZY = ("SERVICES", "CloudFront", "Distribution", "DistributionSpec", "cdn_distribution")


def __getattr__(name: str) -> Any:
    """The run face's names (the service registry reads ``SERVICES``; ``Distribution`` is
    the simulation target, as before the package existed), imported lazily. The
    per-request face's distribution is ``pipeline.Distribution``."""
    if name in _LAZY:
        from edgesim.services.cloudfront import sim

        return getattr(sim, name)
    raise AttributeError(name)
