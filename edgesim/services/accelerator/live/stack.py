"""Global Accelerator in the rest of live mode: its DNS answers and its part of
``edgesim serve``."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from edgesim.live.addresses import standin_addresses
from edgesim.live.component import Component
from edgesim.live.stack import Listener
from edgesim.services.accelerator.live.proxy import GaProxy
from edgesim.services.accelerator.live.router import GaConfig
from edgesim.services.accelerator.service import GlobalAccelerator

# ---- in the live DNS ---------------------------------------------------------------------------


def dns_addresses(run: Any) -> dict[str, str]:
    """What live DNS answers for an alias to an accelerator: the proxy's stand-in for its first
    static address (accelerators numbered 1, 2, … in scenario order, as :class:`GaRouter`
    numbers them). Registered in :data:`edgesim.live.component.DNS_ADDRESSES`."""
    svc = next((s for s in run.services if isinstance(s, GlobalAccelerator)), None)
    if svc is None:
        return {}
    return {f"accelerator:{n}": standin_addresses(i + 1)[0] for i, n in enumerate(svc.items)}


# ---- in the live stack (edgesim serve) --------------------------------------------------------


class Accelerators(Component):
    """The scenario's accelerators as one proxy in the live stack."""

    name: ClassVar[str] = "accelerators"

    async def start(self) -> None:
        stack = self.stack
        if not any(isinstance(s, GlobalAccelerator) for s in stack.run.services):
            return
        kw: dict[str, Any] = {
            "delay": stack.config.delay,
            "port_offset": stack.config.ga_port_offset,
        }
        if stack.config.public:
            kw["listen_host"] = stack.config.listen_host
        try:
            proxy = GaProxy(stack.run, GaConfig(**kw))
        except (ValueError, TypeError) as exc:
            stack.notes.append(f"accelerators: {exc}; skipped")
            return
        stack.ga = proxy
        await stack.bind("accelerators", "the accelerator stand-in addresses", proxy.start)
        for line in proxy.describe():
            stack.listeners.append(Listener("accelerator", "", "", line.strip()))
        stack.notes.extend(f"accelerators: {n}" for n in proxy.notes)

    async def stop(self) -> None:
        if self.stack.ga is not None:
            with contextlib.suppress(Exception):
                await self.stack.ga.stop()
            self.stack.ga = None

    def on_change(self) -> None:
        if self.stack.ga is not None:
            with contextlib.suppress(Exception):
                self.stack.ga.on_change()
