"""The asyncio shell: UDP and TCP listeners around an :class:`Authority`.

Malformed, truncated, oversized or hostile input never stops the server: every datagram and
every TCP message is handled on its own. Malformed messages get FORMERR (when they have a
header); an unexpected error while answering is logged (logger ``edgesim.dns``, with the
traceback) and answered with SERVFAIL. TCP connections are closed after 30 s of silence.
With ``reuse_port`` the sockets are bound with SO_REUSEPORT (several worker processes on one
port: :mod:`edgesim.live.workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field

from edgesim.dnsserver.authority import Authority

log = logging.getLogger("edgesim.dns")

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
            log.exception("error answering a UDP query from %s", addr[0])
            answer = servfail(data)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


def servfail(query: bytes) -> bytes | None:
    """SERVFAIL echoing the query's id and question, when it has a header."""
    if len(query) < 12 or query[2] & 0x80:
        return None
    flags = 0x8000 | (query[2] & 0x01) << 8 | 2  # QR, RD copied, SERVFAIL
    return query[:2] + flags.to_bytes(2, "big") + b"\x00" * 8


@dataclass
class DnsServer:
    authority: Authority
    host: str = "127.0.0.1"
    port: int = 5353
    reuse_port: bool = False
    _udp: asyncio.DatagramTransport | None = field(default=None, repr=False)
    _tcp: asyncio.Server | None = field(default=None, repr=False)

    async def start(self) -> tuple[str, int]:
        """Start both listeners; returns the bound (host, port) (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        if self.reuse_port:
            from edgesim.live.workers import reuseport_socket

            tcp_sock = reuseport_socket(self.host, self.port, socket.SOCK_STREAM)
            tcp = await asyncio.start_server(self._client, sock=tcp_sock)
            port = tcp.sockets[0].getsockname()[1]
            udp_sock = reuseport_socket(self.host, port, socket.SOCK_DGRAM)
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self.authority), sock=udp_sock
            )
        else:
            tcp = await asyncio.start_server(self._client, self.host, self.port)
            port = tcp.sockets[0].getsockname()[1]
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self.authority), local_addr=(self.host, port)
            )
        self._tcp = tcp
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
                    log.exception("error answering a TCP query from %s", peer[0])
                    answer = servfail(data)
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
