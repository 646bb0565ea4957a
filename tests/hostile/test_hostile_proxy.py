"""The HTTP proxy of ``edgesim serve --http-proxy`` (issue 17, item 8): a tunnel in which
nothing moves is closed after the idle timeout, and connections are bounded."""

from __future__ import annotations

import asyncio

from hostile_live import live_config

from edgesim.live.proxy import HttpProxy
from edgesim.live.stack import Stack


async def _silent_server() -> tuple[asyncio.AbstractServer, int, list[asyncio.StreamWriter]]:
    """A loopback server that accepts and never says anything."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    srv = await asyncio.start_server(hold, "127.0.0.1", 0)
    return srv, int(srv.sockets[0].getsockname()[1]), held


def test_an_idle_connect_tunnel_is_closed() -> None:
    stack = Stack.load(live_config())

    async def main() -> tuple[bytes, bytes, int]:
        proxy = HttpProxy(stack, idle_s=0.2)
        host, port = await proxy.start("127.0.0.1", 0)
        srv, sport, held = await _silent_server()
        try:
            r, w = await asyncio.open_connection(host, port)
            w.write(f"CONNECT 127.0.0.1:{sport} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await w.drain()
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10)
            # neither side sends anything: the proxy ends the tunnel (EOF), well before 10 s
            rest = await asyncio.wait_for(r.read(), 10)
            w.close()
            return head, rest, proxy.idle_closed
        finally:
            for hw in held:
                hw.close()
            srv.close()
            await proxy.stop()

    head, rest, closed = asyncio.run(main())
    assert head.startswith(b"HTTP/1.1 200")
    assert rest == b""
    assert closed == 1


def test_a_busy_tunnel_is_not_idle() -> None:
    stack = Stack.load(live_config())

    async def main() -> bytes:
        proxy = HttpProxy(stack, idle_s=0.3)
        host, port = await proxy.start("127.0.0.1", 0)

        async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            while data := await r.read(100):
                w.write(data)
                await w.drain()
            w.close()

        srv = await asyncio.start_server(echo, "127.0.0.1", 0)
        sport = srv.sockets[0].getsockname()[1]
        try:
            r, w = await asyncio.open_connection(host, port)
            w.write(f"CONNECT 127.0.0.1:{sport} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await r.readuntil(b"\r\n\r\n")
            got = b""
            # 8 round trips, 0.1 s apart: 0.8 s in all, longer than the idle timeout
            for i in range(8):
                w.write(b"%d" % i)
                await w.drain()
                got += await asyncio.wait_for(r.read(100), 10)
                await asyncio.sleep(0.1)  # the pacing under test, not synchronisation
            w.close()
            return got
        finally:
            srv.close()
            await proxy.stop()

    assert asyncio.run(main()) == b"01234567"


def test_connections_beyond_the_bound_get_503() -> None:
    stack = Stack.load(live_config())

    async def main() -> bytes:
        proxy = HttpProxy(stack, max_clients=2)
        host, port = await proxy.start("127.0.0.1", 0)
        try:
            idle = [await asyncio.open_connection(host, port) for _ in range(2)]
            for _ in range(100):  # until the proxy has accepted both
                if len(proxy.writers) == 2:
                    break
                await asyncio.sleep(0.01)
            r, w = await asyncio.open_connection(host, port)
            answer = await asyncio.wait_for(r.read(), 10)
            w.close()
            for _, iw in idle:
                iw.close()
            return answer
        finally:
            await proxy.stop()

    answer = asyncio.run(main())
    assert answer.startswith(b"HTTP/1.1 503")
