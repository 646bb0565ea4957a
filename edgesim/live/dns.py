"""Route 53 in the live stack: the scenario's DNS authority on ``--listen-host``, counting
the answers per client group."""

from __future__ import annotations

from typing import ClassVar

from edgesim.dnsserver.authority import scenario_authority
from edgesim.dnsserver.server import DnsServer
from edgesim.live.component import Component
from edgesim.live.stack import Listener


class Dns(Component):
    name: ClassVar[str] = "dns"

    async def start(self) -> None:
        try:
            auth = scenario_authority(self.stack.run)
        except ValueError as exc:
            self.stack.notes.append(f"no DNS: {exc}")
            return
        self.stack.authority = auth
        inner = auth.handle
        metrics = self.stack.metrics
        source_group = auth._source_group

        def handle(wire: bytes, source: str, *, udp: bool) -> bytes | None:
            metrics.dns(source_group(source))
            return inner(wire, source, udp=udp)

        auth.handle = handle  # type: ignore[method-assign]
        server = DnsServer(auth, self.stack.config.listen_host, self.stack.config.dns_port)
        where = f"{self.stack.config.listen_host}:{self.stack.config.dns_port} (UDP and TCP)"
        self.stack.dns_bound = await self.stack.bind("dns", where, server.start)
        self.stack.dns_server = server
        h, p = self.stack.dns_bound
        self.stack.listeners.append(
            Listener("dns", "Route 53", f"dns://{h}:{p}", ", ".join(str(z) for z in auth.zones))
        )

    async def stop(self) -> None:
        if self.stack.dns_server is not None:
            await self.stack.dns_server.stop()
            self.stack.dns_server = None
