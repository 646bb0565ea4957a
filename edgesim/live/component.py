"""The parts of the live stack (``edgesim serve``) and their registry.

A :class:`Component` starts the listeners of one part of a scenario (its CloudFront edges, its
endpoints, its accelerators, its DNS) on the stack's shared run, clock and event loop. The
stack starts the registered components in :data:`REGISTRY` order and stops them in reverse; it
knows no service by name. Adding a live part: write a component class and add one line to
:data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar, Final

if TYPE_CHECKING:
    from edgesim.live.stack import Stack

REGISTRY: Final[tuple[tuple[str, str], ...]] = (
    ("origins", "edgesim.live.cloudfront:Origins"),
    ("edges", "edgesim.live.cloudfront:Edges"),
    ("endpoints", "edgesim.services.endpoints.live:Endpoints"),
    ("accelerators", "edgesim.services.accelerator.live.stack:Accelerators"),
    ("dns", "edgesim.live.dns:Dns"),
    ("traffic", "edgesim.live.traffic:Traffic"),  # last: it needs DNS and the servers
)
"""(``--only`` name, ``module:Class``) in start order."""

DNS_ADDRESSES: Final[tuple[str, ...]] = ("edgesim.services.accelerator.live.stack:dns_addresses",)
"""``module:function(run) -> {target key: address}``: the live addresses DNS answers with for
aliases to targets served by a live part other than an endpoint or an edge."""

COMPONENTS: Final = ("dns", "edges", "endpoints", "origins", "accelerators")
"""The names ``edgesim serve --only`` accepts, as listed in its help."""


class Component:
    """One part of the stack. Subclasses set :attr:`name` and implement :meth:`start`."""

    name: ClassVar[str]

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def wanted(self, only: frozenset[str]) -> bool:
        """Whether to start with ``--only`` ``only``."""
        return self.name in only

    async def start(self) -> None:
        """Bind this part's listeners (``stack.bind`` turns OSError into StackError)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Close this part's listeners and connections (must cope with a half start)."""

    def on_change(self) -> None:
        """The emulated world changed (an event, a control call, a health check)."""

    async def settle(self) -> None:
        """Wait for work started by :meth:`on_change` (listeners started on demand)."""

    def target_address(self, key: str) -> str | None:
        """``host:port`` this part serves scenario target ``key`` on, if it does."""
        return None


def _load(where: str) -> Any:
    module, _, attr = where.partition(":")
    return getattr(importlib.import_module(module), attr)


def dns_addresses(run: Any) -> dict[str, str]:
    """Every registered part's live DNS addresses for ``run`` (see :data:`DNS_ADDRESSES`)."""
    out: dict[str, str] = {}
    for where in DNS_ADDRESSES:
        out.update(_load(where)(run))
    return out


def load_components(stack: Stack) -> list[Component]:
    """Instances of every registered component, in start order."""
    out: list[Component] = []
    for _name, where in REGISTRY:
        out.append(_load(where)(stack))
    return out
