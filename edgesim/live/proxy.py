"""A forward HTTP proxy for ``edgesim serve --http-proxy``: a browser picks a client group
without source-address tricks.

The client group is, in order: the user name of ``Proxy-Authorization: Basic`` (any
password; ``curl -x http://tokyo:x@127.0.0.1:3128``), an ``X-Edgesim-Client`` header, else
the first group. Host names are resolved through the emulated DNS *as that group* (in
process, the same answers ``dig -b`` gets), and the proxy connects to the answer from the
group's own source address (``127.1.x.y``), so the edges and endpoints see a client of that
group. ``CONNECT`` tunnels the same way (for plain TCP; the stack has no TLS).

One request per connection (``Connection: close``), bodies streamed both ways; names the
emulated DNS does not know are refused with 502 (the proxy never reaches the internet).

Bounds (docs/live-stack.md): the request head must arrive within :data:`HEAD_TIMEOUT_S`
and fit in :data:`MAX_HEAD` bytes; at most :data:`MAX_CLIENTS` connections at once (more
are answered 503 and closed); a request or ``CONNECT`` tunnel in which no byte moves either
way for :data:`IDLE_TIMEOUT_S` is closed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from edgesim.live.addresses import group_address
from edgesim.live.edge import CLIENT_HEADER

if TYPE_CHECKING:
    from edgesim.live.stack import Stack

MAX_HEAD: Final = 32 * 1024
HEAD_TIMEOUT_S: Final = 10.0
CONNECT_TIMEOUT_S: Final = 5.0
IDLE_TIMEOUT_S: Final = 300.0
"""A tunnel (or proxied request) with no byte moving either way for this long is closed."""
MAX_CLIENTS: Final = 1024
"""Connections handled at once; more are answered 503 and closed."""
HOP: Final = frozenset(
    {"proxy-authorization", "proxy-connection", "connection", "keep-alive", "te", "upgrade"}
)


class ProxyError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def pick_group(headers: list[tuple[str, str]], index: dict[str, int]) -> int:
    """The client group a proxied request asks for (see the module docstring)."""
    for k, v in headers:
        if k.lower() == "proxy-authorization":
            scheme, _, cred = v.partition(" ")
            if scheme.lower() == "basic":
                try:
                    user = base64.b64decode(cred.strip(), validate=True).decode().split(":", 1)[0]
                except (ValueError, UnicodeDecodeError):
                    raise ProxyError(407, "unreadable Proxy-Authorization") from None
                if user not in index:
                    raise ProxyError(407, f"unknown client group '{user}'")
                return index[user]
    for k, v in headers:
        if k.lower() == CLIENT_HEADER:
            if v.strip() not in index:
                raise ProxyError(400, f"unknown client group '{v.strip()}'")
            return index[v.strip()]
    return 0


class HttpProxy:
    def __init__(
        self, stack: Stack, *, idle_s: float = IDLE_TIMEOUT_S, max_clients: int = MAX_CLIENTS
    ) -> None:
        self.stack = stack
        self.idle_s = idle_s
        self.max_clients = max_clients
        self.idle_closed = 0
        """Tunnels and requests closed by the idle timeout."""
        self.server: asyncio.AbstractServer | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._client, host, port, reuse_address=True)
        addr = self.server.sockets[0].getsockname()
        return str(addr[0]), int(addr[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for w in list(self.writers):
            w.transport.abort()
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
            self.server = None

    async def _pipe_both(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_r: asyncio.StreamReader,
        up_w: asyncio.StreamWriter,
    ) -> None:
        """Copy both ways until the server closes, or until nothing moves for ``idle_s``."""
        loop = asyncio.get_running_loop()
        seen = [loop.time()]
        try:
            down = asyncio.ensure_future(_pipe(up_r, writer, seen))
            up = asyncio.ensure_future(_pipe(reader, up_w, seen))
            try:
                while not down.done():
                    left = seen[0] + self.idle_s - loop.time()
                    if left <= 0:
                        self.idle_closed += 1
                        down.cancel()
                        break
                    # the answer is complete when the server closes
                    await asyncio.wait([down], timeout=left)
            finally:
                for t in (down, up):
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await t
        finally:
            up_w.close()

    def _target(self, host: str, port: int, group: int) -> tuple[str, int]:
        """Where ``host:port`` goes for ``group``: an emulated name via the emulated DNS;
        loopback addresses as they are; anything else refused."""
        try:
            if ipaddress.ip_address(host).is_loopback:
                return host, port
            raise ProxyError(403, "the proxy only reaches the emulated, loopback world")
        except ValueError:
            pass
        addrs = self.stack.resolve(host, group)
        if not addrs:
            raise ProxyError(502, f"the emulated DNS has no address for {host}")
        addr = addrs[0]
        if self.stack.config.public:  # containers: PoPs and endpoints are on ports, not IPs
            return self._public_target(addr, port)
        return addr, self.stack.edge_port if port == 80 else port

    def _public_target(self, addr: str, port: int) -> tuple[str, int]:
        label = self.stack.label(addr)
        if self.stack.plan is not None:
            for p in self.stack.plan.pops:
                if f"pop:{p.id}" == label:
                    return "127.0.0.1", p.port
        if label.startswith("endpoint:"):
            got = self.stack.endpoint_addr.get(label.split(":", 1)[1])
            if got is not None:
                return "127.0.0.1", got[1]
        return addr, port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self.writers) >= self.max_clients:
            with contextlib.suppress(Exception):
                writer.write(_refusal(503, "too many proxy connections"))
                writer.close()
            return
        if task is not None:
            self.tasks.add(task)
        self.writers.add(writer)
        try:
            await self._serve(reader, writer)
        except ProxyError as exc:
            with contextlib.suppress(Exception):
                writer.write(_refusal(exc.status, exc.reason))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self.writers.discard(writer)
            writer.close()
            if task is not None:
                self.tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            raise ProxyError(431, "request head too large") from None
        if len(head) > MAX_HEAD:
            raise ProxyError(431, "request head too large")
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ProxyError(400, "bad request line")
        method, target, version = parts
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if not sep or not k or k != k.strip():
                raise ProxyError(400, "bad header line")
            headers.append((k, v.strip()))
        group = pick_group(headers, self.stack.group_index)
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            if not host or not port_text.isdigit():
                raise ProxyError(400, "CONNECT needs HOST:PORT")
            addr, port = self._target(host.strip("[]"), int(port_text), group)
            up_r, up_w = await self._open(addr, port, group)
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await self._pipe_both(reader, writer, up_r, up_w)
            return
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            raise ProxyError(400, "a proxy request needs an absolute http:// URL")
        addr, port = self._target(url.hostname, url.port or 80, group)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        out = [f"{method} {path} {version}"]
        has_host = False
        for k, v in headers:
            kl = k.lower()
            if kl in HOP or kl == CLIENT_HEADER:
                continue
            has_host |= kl == "host"
            out.append(f"{k}: {v}")
        if not has_host:
            out.append(f"Host: {url.netloc}")
        out.append(f"{CLIENT_HEADER}: {self.stack.groups[group]}")
        out.append("Connection: close")
        up_r, up_w = await self._open(addr, port, group)
        up_w.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        await self._pipe_both(reader, writer, up_r, up_w)

    async def _open(
        self, addr: str, port: int, group: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        local = (group_address(group), 0) if not self.stack.config.public else None
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(addr, port, local_addr=local), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError) as exc:
            raise ProxyError(502, f"cannot connect to {addr}:{port}: {exc}") from None


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, seen: list[float]) -> None:
    loop = asyncio.get_running_loop()
    try:
        while data := await src.read(65536):
            seen[0] = loop.time()
            dst.write(data)
            await dst.drain()
            seen[0] = loop.time()
        if dst.can_write_eof():
            dst.write_eof()
    except (ConnectionError, OSError):
        pass


def _refusal(status: int, reason: str) -> bytes:
    phrases = {400: "Bad Request", 403: "Forbidden", 407: "Proxy Authentication Required"}
    phrases.update({431: "Request Header Fields Too Large", 502: "Bad Gateway"})
    phrases[503] = "Service Unavailable"
    body = f"{status} {reason}\n".encode()
    extra = 'Proxy-Authenticate: Basic realm="edgesim client group"\r\n' if status == 407 else ""
    return (
        f"HTTP/1.1 {status} {phrases.get(status, 'Error')}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    ).encode() + body
