"""What a service module provides to the engine.

A service is a module in :mod:`edgesim.services` that defines a subclass of :class:`Service`
and lists it in a module-level ``SERVICES`` tuple. The engine discovers it, adds its
``section`` to the scenario format, builds it from that section, and asks it for the targets
it offers (``cloudfront:site``, ``endpoint:api-use1`` …), the host names it answers in DNS, the
timeline actions it handles and its part of the report. Nothing in the engine names a service.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]


class Target(ABC):
    """Something a host name leads to: a distribution, an accelerator, an endpoint."""

    key: str
    """``kind:name``, as written in scenario files."""

    ttl_ns: int = 60_000_000_000
    """TTL of the DNS answer that leads here when no zone says otherwise."""

    @abstractmethod
    def entry(self, ctx: SimContext, where: I32) -> I32:
        """The node a user connects to (TCP and TLS end there), per DNS query, given the node
        the answer was computed for (``where``: the ECS subnet's or the resolver's place)."""

    @abstractmethod
    def serve(self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome) -> F64:
        """Handle requests arriving at ``flow.src`` nodes: return, per request, the ms from
        the request reaching ``flow.src`` until the whole response is back there (0 when the
        response was already at ``src``). Failures set ``out.ok``/``out.status``; time spent on
        each hop is added to ``out.hop(...)``."""

    def client_entry(self, ctx: SimContext, clients: I32, entry: I32) -> I32:
        """The node users at ``clients`` connect to, given their DNS answer's entry node.
        Default: the entry node; anycast targets return the user's own nearest edge."""
        return entry

    def is_up(self, ctx: SimContext) -> bool:
        return True

    def user_transfer_ms(
        self,
        ctx: SimContext,
        batch: Batch,
        flow: Flow,
        rtt_ms: F64,
        loss: F64,
        up_bytes_per_s: F64,
        down_bytes_per_s: F64,
    ) -> tuple[F64, F64] | None:
        """The user's side of the transfer for requests of ``flow`` (called before
        :meth:`serve`): per request, the upload's time on top of the one round trip the
        engine counts, and the response body's time; None (the default) for the engine's
        single-stream TCP model (:func:`edgesim.transfer.transfer_ms`). ``rtt_ms``, ``loss``
        and the bandwidths are those of each user's path to ``flow.src``."""
        return None


class Service(ABC):
    """A scenario section and the targets, DNS names and timeline actions it brings."""

    section: ClassVar[str]
    summary: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    actions: ClassVar[tuple[str, ...]] = ()
    """Timeline event keys this service handles, e.g. ``invalidate``."""
    order: ClassVar[int] = 50
    """Build order: targets a service refers to must be built first (lower first)."""

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        self.config = config
        self.ctx = ctx

    @classmethod
    def input_files(cls, config: BaseModel) -> list[tuple[str, str, str]]:
        """Files the section refers to, as (field path, file name relative to the scenario,
        what it is, e.g. ``zone file``).
        The loader reads them before the service is built and puts their text in
        ``ctx.files[name]``, so services never touch the file system."""
        return []

    def targets(self) -> dict[str, Target]:
        return {}

    def answers(self, host: str) -> bool:
        """Whether this service's DNS answers for ``host``."""
        return False

    def resolve(
        self, host: str, where: I32, t_ns: int
    ) -> tuple[list[Target | None], npt.NDArray[np.int64], int]:
        """DNS answers for ``host`` to queries located at nodes ``where`` (the ECS subnet's or
        the resolver's place) at ``t_ns``: the candidate targets, the index of each query's
        answer among them (-1: no answer), and the TTL in ns."""
        raise NotImplementedError

    def host_ttl_ns(self, host: str) -> int:
        """TTL of this service's answers for ``host``."""
        return 60_000_000_000

    def check_event(self, action: str, payload: Any) -> str | None:
        """A problem with a timeline event for this service, or None (checked at load)."""
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:  # noqa: B027
        """A timeline event addressed to this service."""

    def fail(self, what: str, up: bool, at_ns: int) -> bool:
        """``fail:``/``recover:`` of something this service owns (``endpoint:x``); True if
        handled."""
        return False

    def boundaries(self, duration_ns: int) -> Iterable[int]:
        """Moments (ns) at which this service's state may change on its own (health checks):
        the engine starts a chunk there, so nothing is decided on a stale state."""
        return ()

    def begin(self, now_ns: int) -> None:  # noqa: B027
        """Called at the start of every chunk, after the timeline's events due then."""

    def observe(self, batch: Batch, out: Outcome, total_ms: F64) -> None:  # noqa: B027
        """Called once per batch with each request's total latency (after the engine adds the
        user's side); services that report latency by their own categories record it here."""

    def tick(self, now_ns: int) -> None:  # noqa: B027
        """Called at every chunk boundary (health checks, scaling, …)."""

    def report(self) -> dict[str, Any]:
        return {}

    assertion_kinds: ClassVar[dict[str, str]] = {}
    """Assertion functions this service adds and the kind of their value: ratio, duration
    (seconds) or count."""

    def assertion_metrics(self) -> dict[str, Callable[..., float]]:
        """Functions usable in ``assertions:``, e.g. ``hit_ratio(distribution=web)``."""
        return {}
