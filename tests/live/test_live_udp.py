"""The live layer's UDP client (edgesim.live.udp, on asyncio-dgram), against real sockets on
loopback; async tests run on pytest-asyncio's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from edgesim.live.udp import UdpClient, udp_exchange, udp_probe


class _Echo(asyncio.DatagramProtocol):
    """Answers each datagram with ``b"from <source address>:" + datagram``; stays silent for
    datagrams starting with ``b"drop"`` the first ``drops`` times."""

    def __init__(self, drops: int = 0) -> None:
        self.transport: Any = None
        self.drops = drops
        self.seen = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # a datagram transport (asyncio's class is not its base)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.seen += 1
        if data.startswith(b"drop") and self.drops > 0:
            self.drops -= 1
            return
        self.transport.sendto(f"from {addr[0]}:".encode() + data, addr)


@pytest_asyncio.fixture
async def echo() -> AsyncIterator[tuple[int, _Echo]]:
    loop = asyncio.get_running_loop()
    proto = _Echo(drops=2)
    transport, _ = await loop.create_datagram_endpoint(lambda: proto, local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[1], proto
    finally:
        transport.close()


@pytest.mark.asyncio
async def test_exchange_gets_the_answer_from_the_chosen_source(echo: tuple[int, _Echo]) -> None:
    port, _ = echo
    assert await udp_exchange("127.0.0.1", port, b"hi") == b"from 127.0.0.1:hi"
    # the live servers tell client groups apart by their loopback source address
    got = await udp_exchange("127.0.0.1", port, b"hi", source_host="127.0.0.9")
    assert got == b"from 127.0.0.9:hi"


@pytest.mark.asyncio
async def test_exchange_resends_a_lost_datagram(echo: tuple[int, _Echo]) -> None:
    port, server = echo
    # the server drops the first two datagrams: the third attempt gets the answer
    got = await udp_exchange("127.0.0.1", port, b"drop me", timeout_s=0.2, attempts=3)
    assert got == b"from 127.0.0.1:drop me"
    assert server.seen == 3


@pytest.mark.asyncio
async def test_exchange_times_out_when_nothing_answers(echo: tuple[int, _Echo]) -> None:
    port, server = echo
    with pytest.raises(TimeoutError):
        await udp_exchange("127.0.0.1", port, b"drop", timeout_s=0.1, attempts=2)
    assert server.seen == 2
    with pytest.raises(ValueError, match="attempts"):
        await udp_exchange("127.0.0.1", port, b"x", attempts=0)


@pytest.mark.asyncio
async def test_probe_tells_a_live_target_from_a_dead_one(echo: tuple[int, _Echo]) -> None:
    port, _ = echo
    assert await udp_probe("127.0.0.1", port, b"ping")
    # a port nobody listens on: ICMP port unreachable (refused) or silence, never an answer
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    assert not await udp_probe("127.0.0.1", dead, b"ping", timeout_s=0.2, attempts=2)


@pytest.mark.asyncio
async def test_client_reports_its_source_and_refuses_use_when_closed(
    echo: tuple[int, _Echo],
) -> None:
    port, _ = echo
    async with UdpClient("127.0.0.1", port, source_host="127.0.0.3") as c:
        assert c.local_address[0] == "127.0.0.3"
        await c.send(b"a")
        assert await c.recv() == b"from 127.0.0.3:a"
    with pytest.raises(RuntimeError, match="not open"):
        await c.send(b"b")
