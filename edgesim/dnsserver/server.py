"""The asyncio shell: UDP and TCP listeners around an :class:`Authority`.

Malformed, truncated, oversized or hostile input never stops the server: every datagram and
every TCP message is handled on its own, and anything that fails is dropped (or answered with
FORMERR when it has a header). TCP connections are closed after 30 s of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from edgesim.dnsserver.authority import Authority

TCP_IDLE_S = 30.0
MAX_TCP_MESSAGE = 65535


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            answer = self.authority.handle(data, addr[0], udp=True)
        except Exception:
            return
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


@dataclass
class DnsServer:
    authority: Authority
    host: str = "127.0.0.1"
    port: int = 5353
    _udp: asyncio.DatagramTransport | None = field(default=None, repr=False)
    _tcp: asyncio.Server | None = field(default=None, repr=False)

    async def start(self) -> tuple[str, int]:
        """Start both listeners; returns the bound (host, port) (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        tcp = await asyncio.start_server(self._client, self.host, self.port)
        self._tcp = tcp
        port = tcp.sockets[0].getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self.authority), local_addr=(self.host, port)
        )
        self._udp = transport
        return self.host, port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("0.0.0.0", 0)
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_S)
                size = int.from_bytes(head, "big")
                if size == 0:
                    break
                data = await asyncio.wait_for(reader.readexactly(size), TCP_IDLE_S)
                try:
                    answer = self.authority.handle(data, peer[0], udp=False)
                except Exception:
                    answer = None
                if answer is not None:
                    writer.write(len(answer).to_bytes(2, "big") + answer)
                    await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:  # the server is stopping
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
