"""UDP clients for the live layer, on asyncio-dgram: a connected client bound to a chosen
source address (the live servers tell client groups apart by their loopback source address,
see the address plan) and a request/answer exchange with a timeout and retries, as a health
probe or a test client uses it.

Servers keep their own :class:`asyncio.DatagramProtocol` transports (one callback per datagram
is what their throughput needs); asyncio-dgram's awaitable ``send``/``recv`` is the natural form
for a client that sends something and waits for the answer.
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType

import asyncio_dgram
from asyncio_dgram.aio import DatagramClient

__all__ = ["UdpClient", "udp_exchange", "udp_probe"]


class UdpClient:
    """A UDP socket bound to ``source_host`` (an ephemeral port) and connected to
    ``(host, port)``; use as ``async with UdpClient(...) as c: await c.send(b"..")``."""

    def __init__(self, host: str, port: int, *, source_host: str = "127.0.0.1") -> None:
        self.remote = (host, int(port))
        self.source_host = source_host
        self._client: DatagramClient | None = None

    async def open(self) -> UdpClient:
        family = socket.AF_INET6 if ":" in self.remote[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self.source_host, 0))
            sock.connect(self.remote)
            client = await asyncio_dgram.from_socket(sock)
            if not isinstance(client, DatagramClient):  # pragma: no cover - connected above
                raise TypeError("asyncio-dgram did not see a connected socket")
            self._client = client
        except BaseException:
            sock.close()
            raise
        return self

    @property
    def client(self) -> DatagramClient:
        if self._client is None:
            raise RuntimeError("the UDP client is not open")
        return self._client

    @property
    def local_address(self) -> tuple[str, int]:
        """The bound (source address, port)."""
        host, port = self.client.sockname[:2]
        return str(host), int(port)

    async def send(self, payload: bytes) -> None:
        await self.client.send(payload)

    async def recv(self, timeout_s: float = 2.0) -> bytes:
        """The next datagram; TimeoutError after ``timeout_s``."""
        data, _addr = await asyncio.wait_for(self.client.recv(), timeout_s)
        return bytes(data)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def __aenter__(self) -> UdpClient:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def udp_exchange(
    host: str,
    port: int,
    payload: bytes,
    *,
    source_host: str = "127.0.0.1",
    timeout_s: float = 2.0,
    attempts: int = 1,
) -> bytes:
    """Send ``payload`` and return the first answer, resending up to ``attempts`` times (a
    lost datagram is normal UDP); TimeoutError when no attempt got an answer."""
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    async with UdpClient(host, port, source_host=source_host) as c:
        for attempt in range(attempts):
            await c.send(payload)
            try:
                return await c.recv(timeout_s)
            except TimeoutError:
                if attempt == attempts - 1:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


async def udp_probe(
    host: str,
    port: int,
    payload: bytes,
    *,
    source_host: str = "127.0.0.1",
    timeout_s: float = 1.0,
    attempts: int = 3,
) -> bool:
    """A UDP health probe: True when the target answers ``payload`` within the attempts;
    False on no answer or an ICMP port-unreachable (reported as ConnectionRefusedError)."""
    try:
        await udp_exchange(
            host, port, payload, source_host=source_host, timeout_s=timeout_s, attempts=attempts
        )
    except (TimeoutError, ConnectionRefusedError, asyncio_dgram.TransportClosed):
        return False
    return True
