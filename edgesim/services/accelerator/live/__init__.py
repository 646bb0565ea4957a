"""Global Accelerator live: a TCP and UDP proxy on loopback (``edgesim ga serve``), its part of
``edgesim serve`` and its DNS answers (docs/live-ga.md).

* :mod:`.router`: configuration, listener plan, per-flow routing (no I/O);
* :mod:`.flows`: TCP and UDP flows, the echo backend;
* :mod:`.proxy`: :class:`GaProxy`, the listeners and their life cycle;
* :mod:`.stack`: :func:`dns_addresses` and the :class:`Accelerators` stack component.
"""

from __future__ import annotations

from edgesim.live.addresses import standin_addresses
from edgesim.services.accelerator.live.proxy import GaProxy, backends_from_options, is_address_error
from edgesim.services.accelerator.live.router import (
    Backend,
    Bind,
    FlowRoute,
    GaConfig,
    GaRouter,
    Stats,
    parse_backend,
    plan_binds,
)
from edgesim.services.accelerator.live.stack import Accelerators, dns_addresses

__all__ = [
    "Accelerators",
    "Backend",
    "Bind",
    "FlowRoute",
    "GaConfig",
    "GaProxy",
    "GaRouter",
    "Stats",
    "backends_from_options",
    "dns_addresses",
    "is_address_error",
    "parse_backend",
    "plan_binds",
    "standin_addresses",
]
