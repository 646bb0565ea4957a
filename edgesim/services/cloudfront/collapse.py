"""Request collapsing as an I/O-free registry (spec §1.5).

Simultaneous misses for one cache key at one edge: the first request (the *leader*) goes
to the origin; the others (*followers*) wait and are answered from its response (logged
as Hit). The live server wraps :class:`CollapseRegistry` with asyncio futures; runs use
the two rules below for each request class and collapse by fetch times.

Collapsing is disabled

* for the whole request by the ``CachingDisabled`` policy (any policy with MaxTTL 0) and
  when cookies are forwarded to the origin (:func:`collapsing_enabled`);
* per object when MinTTL is 0 and the response carries ``private``, ``no-store``,
  ``no-cache``, ``max-age=0`` or ``s-maxage=0`` (:func:`response_collapsible`): the
  followers then go to the origin themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from edgesim.services.cloudfront.key import OriginRequestPolicy
from edgesim.services.cloudfront.message import HeaderInput, Headers
from edgesim.services.cloudfront.ttl import CachePolicy, parse_cache_control

__all__ = [
    "CollapseRegistry",
    "Role",
    "Ticket",
    "collapsing_enabled",
    "response_collapsible",
]

T = TypeVar("T")


def collapsing_enabled(
    policy: CachePolicy, origin_policy: OriginRequestPolicy | None = None
) -> bool:
    """Whether requests of this behaviour may be collapsed at all."""
    if policy.caching_disabled:
        return False
    return policy.cookies == "none" and (origin_policy is None or origin_policy.cookies == "none")


def response_collapsible(policy: CachePolicy, headers: HeaderInput) -> bool:
    """Whether waiting followers may be answered with this response (per-object rule)."""
    if policy.min_ttl_s > 0:
        return True
    h = headers if isinstance(headers, Headers) else Headers(headers)
    cc = parse_cache_control(h.get("cache-control"))
    if "private" in cc or "no-store" in cc or "no-cache" in cc:
        return False
    return not any(cc.get(d, "x") == "0" for d in ("max-age", "s-maxage"))


class Role(Enum):
    """What :meth:`CollapseRegistry.begin` made of a request."""

    LEADER = "leader"
    FOLLOWER = "follower"


@dataclass(frozen=True)
class Ticket:
    """A request's place in the registry."""

    key: str
    role: Role
    number: int


class CollapseRegistry(Generic[T]):
    """In-flight origin fetches by cache key; followers wait for the leader's result."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[Ticket]] = {}
        self._results: dict[int, tuple[T, bool]] = {}
        self._n = 0

    def in_flight(self, key: str) -> bool:
        """Whether a leader is fetching ``key``."""
        return key in self._waiting

    def followers(self, key: str) -> int:
        """Followers waiting on ``key``."""
        return len(self._waiting.get(key, ()))

    def begin(self, key: str) -> Ticket:
        """Register a miss for ``key``: the first is the leader, later ones follow."""
        self._n += 1
        if key not in self._waiting:
            self._waiting[key] = []
            return Ticket(key, Role.LEADER, self._n)
        t = Ticket(key, Role.FOLLOWER, self._n)
        self._waiting[key].append(t)
        return t

    def finish(self, key: str, value: T, shareable: bool = True) -> list[Ticket]:
        """The leader's fetch of ``key`` is done; hand ``value`` to the followers.

        ``shareable`` is False when the response may not be shared
        (:func:`response_collapsible`, or it was not cached): each follower must then
        fetch on its own. Returns the followers released.
        """
        released = self._waiting.pop(key, [])
        for t in released:
            self._results[t.number] = (value, shareable)
        return released

    def result(self, ticket: Ticket) -> tuple[T, bool] | None:
        """A released follower's ``(value, shareable)`` (once), or None while waiting."""
        return self._results.pop(ticket.number, None)
