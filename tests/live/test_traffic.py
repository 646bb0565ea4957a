"""Built-in traffic: DNS then HTTP from each client group's loopback address, bounded."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import dns.message
import dns.rrset
from aiohttp import web

from edgesim.live.traffic import TrafficGenerator, TrafficTarget, group_address


class _Dns(asyncio.DatagramProtocol):
    """Answers every A question with 127.0.0.1 and remembers who asked."""

    def __init__(self) -> None:
        self.sources: list[str] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        name = q.question[0].name
        r.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "127.0.0.1"))
        self.sources.append(addr[0])
        self.transport.sendto(r.to_wire(), addr)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _scenario(rate: float, stop_after: int) -> tuple[TrafficGenerator, _Dns, list[Any]]:
    loop = asyncio.get_running_loop()
    proto = _Dns()
    transport, _ = await loop.create_datagram_endpoint(lambda: proto, ("127.0.0.1", 0))
    dns_addr = transport.get_extra_info("sockname")
    seen: list[Any] = []
    done = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.remote, request.host, request.path))
        if len(seen) >= stop_after:
            done.set()
        return web.Response(text="ok", status=404 if request.path.endswith("obj-0") else 200)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    gen = TrafficGenerator(
        [TrafficTarget("www.example.com", "/img", 3.0), TrafficTarget("api.example.com", "/")],
        [1.0, 0.0, 2.0],  # group 1 has no weight: never used
        rate,
        dns_addr,
        port,
        seed=7,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(gen.run(stop))
    await asyncio.wait_for(done.wait(), 30)
    stop.set()
    await asyncio.wait_for(task, 30)
    transport.close()
    await runner.cleanup()
    return gen, proto, seen


def test_requests_come_from_the_groups_addresses() -> None:
    gen, proto, seen = asyncio.run(_scenario(rate=400.0, stop_after=60))
    remotes = {r for r, _, _ in seen}
    assert remotes <= {group_address(0), group_address(2)}
    assert remotes == {group_address(0), group_address(2)}
    assert set(proto.sources) <= remotes  # DNS asked from the same addresses
    assert {h for _, h, _ in seen} == {"www.example.com", "api.example.com"}
    assert all(p.startswith("/img/obj-") or p.startswith("/obj-") for _, _, p in seen)
    assert gen.stats.ok == sum(gen.stats.by_status.values()) - gen.stats.http_errors
    assert gen.stats.started >= len(seen)
    assert gen.stats.dns_failures == 0


def test_concurrency_bound_drops_instead_of_queueing() -> None:
    async def main() -> TrafficGenerator:
        # a DNS address nobody answers: every request waits for its timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            addr = s.getsockname()
            gen = TrafficGenerator(
                [TrafficTarget("x.example")], [1.0], 2000.0, addr, 1, concurrency=5, timeout_s=0.5
            )
            stop = asyncio.Event()
            task = asyncio.create_task(gen.run(stop))
            while gen.stats.dropped < 10:
                await asyncio.sleep(0.01)
            stop.set()
            await asyncio.wait_for(task, 10)
            return gen

    gen = asyncio.run(main())
    assert gen.stats.started <= 5 + gen.stats.timeouts
    assert gen.stats.dropped >= 10
