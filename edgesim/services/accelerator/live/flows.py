"""The proxy's TCP and UDP flows: client side, upstream side, idle timeouts, and the built-in
echo backend."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, cast

from edgesim.live.delay import now as mono_now
from edgesim.services.accelerator.live.router import READ_BATCH, Bind, FlowRoute

if TYPE_CHECKING:
    from edgesim.services.accelerator.live.proxy import GaProxy

# ---- the proxy -----------------------------------------------------------------------------------


class TcpFlow:
    """One client connection and its backend connection, with per-direction delays."""

    __slots__ = (
        "b_s",
        "c_s",
        "client",
        "client_paused_write",
        "closed",
        "down_eof",
        "early",
        "hs_until",
        "last",
        "last_down",
        "last_up",
        "pend_down",
        "pend_up",
        "proxy",
        "reading_client",
        "reading_up",
        "route",
        "task",
        "up",
        "up_eof_pending",
        "up_eof_sent",
        "up_gone",
        "up_paused_write",
    )

    def __init__(self, proxy: GaProxy, client: asyncio.Transport, route: FlowRoute) -> None:
        self.proxy = proxy
        self.client: asyncio.Transport | None = client
        self.up: asyncio.Transport | None = None
        self.route = route
        delay = proxy.config.delay
        self.c_s = route.client_ms / 1000 if delay else 0.0
        self.b_s = route.backbone_ms / 1000 if delay else 0.0
        t = mono_now()
        self.hs_until = t + 2 * self.c_s
        self.last = t
        self.last_up = 0.0
        self.last_down = 0.0
        self.pend_up = 0
        self.pend_down = 0
        self.early: list[bytes] = []
        self.up_eof_pending = False
        self.up_eof_sent = False
        self.up_gone = False
        self.down_eof = False
        self.closed = False
        self.client_paused_write = False
        self.up_paused_write = False
        self.reading_client = True
        self.reading_up = True
        self.task: asyncio.Task[None] | None = None

    @property
    def delayed(self) -> bool:
        return self.c_s > 0 or self.b_s > 0

    # -- deadlines ---------------------------------------------------------------------------
    def _up_deadline(self) -> float:
        d = max(mono_now(), self.hs_until) + self.c_s + self.b_s
        d = max(d, self.last_up)
        self.last_up = d
        return d

    def _down_deadline(self) -> float:
        d = max(mono_now() + self.b_s + self.c_s, self.hs_until)
        d = max(d, self.last_down)
        self.last_down = d
        return d

    # -- client → backend --------------------------------------------------------------------
    def from_client(self, data: bytes) -> None:
        self.last = mono_now()
        if not self.delayed:
            self._write_up(data)
            return
        self.pend_up += len(data)
        self.proxy.delayer.call_at(self._up_deadline(), self._release_up, data)
        self._flow_control()

    def _release_up(self, data: bytes) -> None:
        self.pend_up -= len(data)
        if not self.closed:
            self._write_up(data)
            self._flow_control()

    def _write_up(self, data: bytes) -> None:
        if self.up_gone:
            return
        if self.up is not None:
            self.up.write(data)
        else:
            self.early.append(data)
            self.pend_up += len(data)
            self._flow_control()

    def client_eof(self) -> None:
        self.last = mono_now()
        if self.delayed:
            self.proxy.delayer.call_at(self._up_deadline(), self._release_up_eof)
        else:
            self._release_up_eof()

    def _release_up_eof(self) -> None:
        if self.closed or self.up_gone:
            return
        if self.up is None:
            self.up_eof_pending = True
            return
        if self.up.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                self.up.write_eof()
        self.up_eof_pending = False
        self.up_eof_sent = True
        self._maybe_done()

    # -- backend → client --------------------------------------------------------------------
    def from_up(self, data: bytes) -> None:
        self.last = mono_now()
        if not self.delayed:
            if self.client is not None:
                self.client.write(data)
            return
        self.pend_down += len(data)
        self.proxy.delayer.call_at(self._down_deadline(), self._release_down, data)
        self._flow_control()

    def _release_down(self, data: bytes) -> None:
        self.pend_down -= len(data)
        if not self.closed and self.client is not None:
            self.client.write(data)
            self._flow_control()

    def up_eof(self) -> None:
        self.last = mono_now()
        if self.delayed:
            self.proxy.delayer.call_at(self._down_deadline(), self._release_down_eof)
        else:
            self._release_down_eof()

    def _release_down_eof(self) -> None:
        if self.closed or self.client is None:
            return
        if self.client.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                self.client.write_eof()
        self.down_eof = True
        self._maybe_done()

    # -- backend connection ------------------------------------------------------------------
    def connected(self, up: asyncio.Transport) -> None:
        if self.closed:
            up.abort()
            return
        self.up = up
        sock = up.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        early, self.early = self.early, []
        for chunk in early:
            self.pend_up -= len(chunk)
            up.write(chunk)
        if self.up_eof_pending:
            self._release_up_eof()
        self._flow_control()

    def connect_failed(self) -> None:
        """The backend refused or timed out: reset the client (when the refusal would have
        reached it: one client↔edge + edge↔endpoint round trip after the handshake)."""
        if self.closed:
            return
        at = self.hs_until + 2 * self.b_s
        if self.delayed and at > mono_now():
            self.proxy.delayer.call_at(at, self.abort)
        else:
            self.abort()

    # -- flow control ------------------------------------------------------------------------
    def _flow_control(self) -> None:
        cap = self.proxy.config.window_bytes
        client, up = self.client, self.up
        want_client = self.pend_up < cap and not self.up_paused_write
        if client is not None and want_client != self.reading_client:
            if want_client and self.pend_up > cap // 2:
                pass  # hysteresis: resume below half the window
            else:
                self.reading_client = want_client
                with contextlib.suppress(RuntimeError):
                    (client.resume_reading if want_client else client.pause_reading)()
        want_up = self.pend_down < cap and not self.client_paused_write
        if up is not None and want_up != self.reading_up:
            if want_up and self.pend_down > cap // 2:
                pass
            else:
                self.reading_up = want_up
                with contextlib.suppress(RuntimeError):
                    (up.resume_reading if want_up else up.pause_reading)()

    def set_client_write_paused(self, paused: bool) -> None:
        self.client_paused_write = paused
        self._flow_control()

    def set_up_write_paused(self, paused: bool) -> None:
        self.up_paused_write = paused
        self._flow_control()

    # -- ends -----------------------------------------------------------------------------------
    def client_lost(self, exc: Exception | None) -> None:
        """The client's connection is gone: close the backend once what the client sent
        before has been delivered."""
        self.client = None
        if self.closed:
            return
        if self.delayed and self.last_up > mono_now():
            self.proxy.delayer.call_at(self.last_up, self._close_up, exc is not None)
        else:
            self._close_up(exc is not None)

    def _close_up(self, reset: bool) -> None:
        up = self.up
        if up is not None:
            (up.abort if reset else up.close)()
        self._finish()

    def up_lost(self, exc: Exception | None) -> None:
        """The backend's connection is gone (closed or died mid-stream): close the client
        after what the backend sent has been delivered (reset if the backend's was)."""
        self.up = None
        self.up_gone = True
        self.early = []
        if self.closed:
            return
        if self.delayed and self.last_down > mono_now():
            self.proxy.delayer.call_at(self.last_down, self._close_client, exc is not None)
        else:
            self._close_client(exc is not None)

    def _close_client(self, reset: bool) -> None:
        c = self.client
        if c is not None:
            (c.abort if reset else c.close)()
        self._finish()

    def _maybe_done(self) -> None:
        # Both directions half-closed and delivered: close both sides.
        if self.down_eof and self.up_eof_sent:
            self.close()

    def abort(self) -> None:
        for t in (self.client, self.up):
            if t is not None:
                t.abort()
        self._finish()

    def close(self) -> None:
        for t in (self.client, self.up):
            if t is not None:
                t.close()
        self._finish()

    def _finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.proxy._forget(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()


class TcpClientSide(asyncio.Protocol):
    def __init__(self, proxy: GaProxy, bind: Bind) -> None:
        self.proxy = proxy
        self.bind = bind
        self.flow: TcpFlow | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.flow = self.proxy._open_tcp(cast(asyncio.Transport, transport), self.bind)

    def data_received(self, data: bytes) -> None:
        if self.flow is not None:
            self.flow.from_client(data)

    def eof_received(self) -> bool:
        if self.flow is not None:
            self.flow.client_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.flow is not None:
            self.flow.client_lost(exc)
            self.flow = None

    def pause_writing(self) -> None:
        if self.flow is not None:
            self.flow.set_client_write_paused(True)

    def resume_writing(self) -> None:
        if self.flow is not None:
            self.flow.set_client_write_paused(False)


class TcpUpstreamSide(asyncio.Protocol):
    def __init__(self, flow: TcpFlow) -> None:
        self.flow = flow

    def data_received(self, data: bytes) -> None:
        self.flow.from_up(data)

    def eof_received(self) -> bool:
        self.flow.up_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.flow.up_lost(exc)

    def pause_writing(self) -> None:
        self.flow.set_up_write_paused(True)

    def resume_writing(self) -> None:
        self.flow.set_up_write_paused(False)


class UdpFlow:
    """One client (address, port) on one listener socket: a connected upstream socket."""

    __slots__ = ("b_s", "c_s", "closed", "key", "last", "listener", "proxy", "route", "sock")

    def __init__(
        self,
        proxy: GaProxy,
        listener: UdpListener,
        key: tuple[str, int],
        route: FlowRoute,
        sock: socket.socket,
    ) -> None:
        self.proxy = proxy
        self.listener = listener
        self.key = key
        self.route = route
        self.sock = sock
        self.c_s = route.client_ms / 1000 if proxy.config.delay else 0.0
        self.b_s = route.backbone_ms / 1000 if proxy.config.delay else 0.0
        self.last = mono_now()
        self.closed = False

    def send_up(self, data: bytes) -> None:
        self.proxy.udp_pending -= len(data)
        if self.closed:
            return
        try:
            self.sock.send(data)
        except OSError:  # buffer full, ICMP unreachable reported late, …: a lost datagram
            self.proxy.stats.udp_dropped += 1

    def on_readable(self) -> None:
        proxy = self.proxy
        for _ in range(READ_BATCH):
            if self.closed:
                return
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ECONNREFUSED from an earlier datagram: the backend is not there
                proxy.stats.udp_dropped += 1
                continue
            self.last = mono_now()
            d = self.b_s + self.c_s
            if d <= 0:
                self.listener.send_to_client(data, self.key)
                continue
            if proxy.udp_pending + len(data) > proxy.config.udp_queue_bytes:
                proxy.stats.udp_dropped += 1
                continue
            proxy.udp_pending += len(data)
            proxy.delayer.call_at(self.last + d, self.listener.send_delayed, data, self.key)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self.proxy.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        if self.listener.flows.get(self.key) is self:
            del self.listener.flows[self.key]


class UdpListener:
    """A listener port (UDP) on one stand-in address: a non-blocking socket read in batches."""

    def __init__(self, proxy: GaProxy, bind: Bind, sock: socket.socket) -> None:
        self.proxy = proxy
        self.bind = bind
        self.sock = sock
        self.flows: dict[tuple[str, int], UdpFlow] = {}
        self.closed = False

    def on_readable(self) -> None:
        proxy = self.proxy
        cfg = proxy.config
        for _ in range(READ_BATCH):
            if self.closed:
                return
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            if len(data) > cfg.max_datagram:
                proxy.stats.udp_oversize += 1
                proxy.stats.udp_dropped += 1
                continue
            key = (str(addr[0]), int(addr[1]))
            flow = self.flows.get(key)
            if flow is None or flow.closed:
                flow = proxy._open_udp(self, key)
                if flow is None:
                    continue
            t = mono_now()
            flow.last = t
            d = flow.c_s + flow.b_s
            if d <= 0:
                proxy.udp_pending += len(data)
                flow.send_up(data)
                continue
            if proxy.udp_pending + len(data) > cfg.udp_queue_bytes:
                proxy.stats.udp_dropped += 1
                continue
            proxy.udp_pending += len(data)
            proxy.delayer.call_at(t + d, flow.send_up, data)

    def send_delayed(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy.udp_pending -= len(data)
        self.send_to_client(data, addr)

    def send_to_client(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.closed:
            return
        try:
            self.sock.sendto(data, addr)
        except OSError:
            self.proxy.stats.udp_dropped += 1

    def close(self) -> None:
        if self.closed:
            return
        for flow in list(self.flows.values()):
            flow.close()
        self.closed = True
        with contextlib.suppress(Exception):
            self.proxy.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class EchoTcp(asyncio.Protocol):
    """Built-in TCP echo backend: sends back what it reads (half-close aware)."""

    transport: asyncio.Transport | None = None

    def __init__(self, conns: set[asyncio.Transport]) -> None:
        self.conns = conns

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.conns.add(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def eof_received(self) -> bool:
        return False  # close after writing what is buffered

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.conns.discard(self.transport)
        self.transport = None
