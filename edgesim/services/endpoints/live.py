"""The scenario's endpoints in the live stack: one small HTTP server per endpoint on its
``127.2.x.y`` address, answering after the client group's round trip to its site."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from aiohttp import web

from edgesim.live.addresses import endpoint_address, group_of_address
from edgesim.live.component import Component
from edgesim.live.delay import now as mono_now
from edgesim.live.edge import CLIENT_HEADER
from edgesim.live.stack import Listener, Stack
from edgesim.services.endpoints import EndpointTarget


class Endpoints(Component):
    name: ClassVar[str] = "endpoints"

    async def start(self) -> None:
        eps = [t for t in self.stack.ctx.targets.values() if isinstance(t, EndpointTarget)]
        for i, t in enumerate(eps):
            idx = self.stack.target_index[t.key]
            if self.stack.config.public:
                host, port = self.stack.config.listen_host, self.stack.edge_port + 1000 + i
            else:
                host, port = endpoint_address(idx), self.stack.edge_port
            app = web.Application(client_max_size=1 << 20)
            app.router.add_route("*", "/{tail:.*}", _endpoint_handler(self.stack, t))
            h, p = await self.stack.start_app(app, host, port, f"endpoint {t.spec.name}")
            self.stack.endpoint_addr[t.spec.name] = (h, p)
            self.stack.listeners.append(
                Listener("endpoint", t.spec.name, f"http://{h}:{p}/", t.site_key)
            )

    def target_address(self, key: str) -> str | None:
        if key.startswith("endpoint:"):
            addr = self.stack.endpoint_addr.get(key.split(":", 1)[1])
            return f"{addr[0]}:{addr[1]}" if addr else None
        return None


def _group_of_source(addr: str, header: str | None, index: dict[str, int], n: int) -> int:
    if header is not None:
        return index.get(header.strip(), -1)
    return group_of_address(addr, n)


def _endpoint_handler(
    stack: Stack, target: Any
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An endpoint's live server: JSON naming the endpoint, after the client group's round
    trip to its site; 503 while the endpoint (or its site) is down."""
    name: str = target.spec.name
    site: int = int(target.site)

    async def handle(request: web.Request) -> web.StreamResponse:
        arrival = mono_now()
        peer = request.remote or ""
        group = _group_of_source(
            peer, request.headers.get(CLIENT_HEADER), stack.group_index, len(stack.groups)
        )
        if request.can_read_body:
            await request.read()
        rtt = stack.client_rtt_ms(group, site) if group >= 0 and stack.config.delay else 0.0
        up = target.is_up(stack.ctx)
        status = 200 if up else 503
        if rtt > 0 and stack.delayer is not None:
            await stack.delayer.until(arrival + rtt / 1000)
        stack.metrics.http(group, status, (mono_now() - arrival) * 1000, "endpoint")
        body = {
            "endpoint": name,
            "site": target.site_key,
            "up": up,
            "group": stack.groups[group] if group >= 0 else None,
            "rtt_ms": round(rtt, 2),
            "path": request.path,
        }
        return web.Response(
            status=status,
            text=json.dumps(body) + "\n",
            content_type="application/json",
            headers={"Cache-Control": "no-store", "Server": f"edgesim-endpoint/{name}"},
        )

    return handle


def public_endpoint_ports(stack: Stack) -> list[int]:
    """The ports the endpoints take with a non-loopback ``--listen-host`` (see above)."""
    eps = [t for t in stack.ctx.targets.values() if isinstance(t, EndpointTarget)]
    return [stack.config.edge_port + 1000 + i for i in range(len(eps))]
