"""Live Global Accelerator: a TCP **and UDP** proxy on loopback (``edgesim ga serve``).

Each accelerator of a scenario listens on loopback stand-ins for its two static anycast
addresses (``198.18.hi.lo`` → ``127.4.hi.lo``, ``198.19.hi.lo`` → ``127.5.hi.lo``: the address
plan of :mod:`edgesim.live.addresses`), on every port of its listeners. For each new flow the proxy

1. finds the client group from the source address (``127.1.(i // 256).(i % 256)`` is group
   *i*, as in the live DNS and edges; any other address is the first group),
2. takes that group's ingress edge location (the scenario service's anycast rule,
   :meth:`~edgesim.services.accelerator.service.AcceleratorTarget.client_entry`),
3. picks the endpoint with the service's own routing tables and flow hash
   (:mod:`edgesim.services.accelerator.model`: 5-tuple for affinity ``NONE``, (source, destination)
   for ``SOURCE_IP``; dials, weights, health, failover and fail-open included),
4. connects to that endpoint's backend (a real server from ``--backend``, or a built-in echo
   server per endpoint) and forwards bytes (TCP) or datagrams (UDP) both ways, holding each
   chunk until its emulated arrival time with the accurate
   :class:`~edgesim.live.delay.Delayer`: client↔edge one way (internet, plus half the group's
   last-mile round trip) + edge↔endpoint one way (backbone), in each direction. On TCP the
   handshake with the edge (one client↔edge round trip) is charged on the first bytes each
   way, since the kernel has completed the real one already.

Health checks and the timeline run on the scenario's services (a
:class:`~edgesim.sim.live.LiveDriver` drives them); the proxy rebuilds the routing tables
when the service marks them stale. A flow keeps its endpoint for its lifetime (GA's flow
stickiness) unless the endpoint itself goes down in the emulated world, which breaks it.

Model, choices and limits: ``docs/live-ga.md``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import socket
from collections.abc import Iterable
from typing import Any

from edgesim.live.delay import Delayer
from edgesim.live.delay import now as mono_now
from edgesim.services.accelerator.live.flows import (
    EchoTcp,
    TcpClientSide,
    TcpFlow,
    TcpUpstreamSide,
    UdpFlow,
    UdpListener,
)
from edgesim.services.accelerator.live.router import (
    READ_BATCH,
    Backend,
    Bind,
    FlowRoute,
    GaConfig,
    GaRouter,
    Stats,
    plan_binds,
)


class GaProxy:
    """The live accelerator proxy over a prepared scenario run (see the module docstring).

    ``backends`` maps (endpoint name, protocol) to a real server; endpoints without one get a
    built-in echo server (TCP and/or UDP, ephemeral ports on 127.0.0.1), listed in
    :attr:`echo_backends` after :meth:`start`.
    """

    def __init__(
        self,
        run: Any,
        config: GaConfig | None = None,
        *,
        backends: dict[tuple[str, str], Backend] | None = None,
    ) -> None:
        self.config = config or GaConfig()
        self.router = GaRouter(run, self.config)
        self.backends: dict[tuple[str, str], Backend] = dict(backends or {})
        self.echo_backends: dict[tuple[str, str], Backend] = {}
        self.stats = Stats()
        self.routes: collections.deque[FlowRoute] = collections.deque(maxlen=1000)
        """The most recent flows' routes (newest last)."""
        self.tcp_flows: set[TcpFlow] = set()
        self.udp_listeners: list[UdpListener] = []
        self.udp_pending = 0
        self.bound: list[tuple[Bind, str, int]] = []
        self.notes: list[str] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._echo_servers: list[asyncio.AbstractServer] = []
        self._echo_conns: set[asyncio.Transport] = set()
        self._echo_udp: list[socket.socket] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._delayer: Delayer | None = None
        self._no_tcp: asyncio.Event | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "start() first"
        return self._loop

    @property
    def delayer(self) -> Delayer:
        assert self._delayer is not None, "start() first"
        return self._delayer

    def backend_for(self, endpoint: str, protocol: str) -> Backend | None:
        return self.backends.get((endpoint, protocol)) or self.echo_backends.get(
            (endpoint, protocol)
        )

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> list[tuple[Bind, str, int]]:
        """Start echo backends and bind every listener; returns (bind, host, port) bound."""
        loop = self._loop = asyncio.get_running_loop()
        self._delayer = Delayer(loop)
        self._no_tcp = asyncio.Event()
        self._no_tcp.set()
        binds, self.notes = plan_binds(self.router.accelerators(), self.config)
        try:
            for proto in ("TCP", "UDP"):
                for name in self.router.endpoints(proto):
                    if (name, proto) not in self.backends:
                        self.echo_backends[(name, proto)] = await self._start_echo(proto)
            for b in binds:
                if b.protocol == "TCP":
                    srv = await loop.create_server(
                        lambda b=b: TcpClientSide(self, b),  # type: ignore[misc]
                        b.host,
                        b.bind_port,
                        reuse_address=True,
                        backlog=4096,
                    )
                    self._servers.append(srv)
                    port = int(srv.sockets[0].getsockname()[1])
                else:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        with contextlib.suppress(OSError):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                        sock.bind((b.host, b.bind_port))
                        sock.setblocking(False)
                    except OSError:
                        sock.close()
                        raise
                    lis = UdpListener(self, b, sock)
                    loop.add_reader(sock.fileno(), lis.on_readable)
                    self.udp_listeners.append(lis)
                    port = int(sock.getsockname()[1])
                self.bound.append((b, b.host, port))
        except BaseException:
            await self.stop()
            raise
        self._schedule_sweep()
        return self.bound

    async def _start_echo(self, protocol: str) -> Backend:
        loop = self.loop
        if protocol == "TCP":
            srv = await loop.create_server(
                lambda: EchoTcp(self._echo_conns), "127.0.0.1", 0, backlog=4096
            )
            self._echo_servers.append(srv)
            return Backend("127.0.0.1", int(srv.sockets[0].getsockname()[1]))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._echo_udp.append(sock)

        def echo() -> None:
            for _ in range(READ_BATCH):
                try:
                    data, addr = sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    continue
                with contextlib.suppress(OSError):
                    sock.sendto(data, addr)

        loop.add_reader(sock.fileno(), echo)
        return Backend("127.0.0.1", int(sock.getsockname()[1]))

    async def stop(self) -> None:
        """Close listeners, flows, backends and timers; wait for connection tasks."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for srv in self._servers:
            srv.close()
        for lis in self.udp_listeners:
            lis.close()
        self.udp_listeners = []
        for flow in list(self.tcp_flows):
            flow.abort()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await srv.wait_closed()
        self._servers = []
        for tr in list(self._echo_conns):
            tr.abort()
        for srv in self._echo_servers:
            srv.close()
            with contextlib.suppress(Exception):
                await srv.wait_closed()
        self._echo_servers = []
        for sock in self._echo_udp:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(sock.fileno())
            sock.close()
        self._echo_udp = []
        if self._delayer is not None:
            self._delayer.close()
        self.bound = []
        await asyncio.sleep(0)  # let aborted transports run connection_lost

    def on_change(self) -> None:
        """The emulated world changed (timeline, control call, health round): flows whose
        endpoint is now down break, as their real counterparts would."""
        down = {
            name
            for name in {f.route.endpoint for f in self.tcp_flows}
            | {f.route.endpoint for lis in self.udp_listeners for f in lis.flows.values()}
            if not self.router.endpoint_up(name)
        }
        if not down:
            return
        for flow in list(self.tcp_flows):
            if flow.route.endpoint in down:
                flow.abort()
        for lis in self.udp_listeners:
            for uf in list(lis.flows.values()):
                if uf.route.endpoint in down:
                    uf.close()

    def _forget(self, flow: TcpFlow) -> None:
        self.tcp_flows.discard(flow)
        if not self.tcp_flows and self._no_tcp is not None:
            self._no_tcp.set()

    async def tcp_drained(self) -> None:
        """Return once no TCP flow is open (tests, benchmarks)."""
        if self._no_tcp is not None:
            await self._no_tcp.wait()

    # -- idle timeouts ------------------------------------------------------------------------
    def _schedule_sweep(self) -> None:
        every = max(0.01, min(1.0, self.config.udp_idle_s / 4, self.config.tcp_idle_s / 4))
        self._sweeper = self.loop.call_later(every, self._sweep)

    def _sweep(self) -> None:
        t = mono_now()
        for flow in list(self.tcp_flows):
            if t - flow.last > self.config.tcp_idle_s:
                self.stats.idle_closed += 1
                flow.abort()
        for lis in self.udp_listeners:
            for uf in list(lis.flows.values()):
                if t - uf.last > self.config.udp_idle_s:
                    self.stats.idle_closed += 1
                    uf.close()
        self._schedule_sweep()

    # -- new flows ----------------------------------------------------------------------------
    def _route(self, bind: Bind, src: tuple[str, int], protocol: str) -> FlowRoute:
        route = self.router.route(
            bind.accelerator, bind.listener, bind.zone, src[0], src[1], bind.port, protocol
        )
        self.routes.append(route)
        self.stats.per_endpoint[route.endpoint] += 1
        return route

    def _open_tcp(self, transport: asyncio.Transport, bind: Bind) -> TcpFlow | None:
        if len(self.tcp_flows) >= self.config.max_tcp_flows:
            self.stats.flows_full += 1
            transport.abort()
            return None
        peer = transport.get_extra_info("peername") or ("0.0.0.0", 0)
        try:
            route = self._route(bind, (str(peer[0]), int(peer[1])), "TCP")
        except Exception:  # never let one flow take the listener down
            transport.abort()
            return None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        flow = TcpFlow(self, transport, route)
        self.tcp_flows.add(flow)
        if self._no_tcp is not None:
            self._no_tcp.clear()
        self.stats.tcp_flows += 1
        backend = self.backend_for(route.endpoint, "TCP")
        if not route.up or backend is None:
            self.stats.endpoint_down += 1
            flow.connect_failed()
            return flow
        task = self.loop.create_task(self._connect(flow, backend.address(bind.port)))
        flow.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return flow

    async def _connect(self, flow: TcpFlow, address: tuple[str, int]) -> None:
        try:
            async with asyncio.timeout(self.config.connect_timeout_s):
                transport, _ = await self.loop.create_connection(
                    lambda: TcpUpstreamSide(flow), address[0], address[1]
                )
        except (OSError, TimeoutError):
            self.stats.tcp_refused += 1
            flow.connect_failed()
            return
        flow.connected(transport)

    def _open_udp(self, lis: UdpListener, key: tuple[str, int]) -> UdpFlow | None:
        if sum(len(x.flows) for x in self.udp_listeners) >= self.config.max_udp_flows:
            self.stats.flows_full += 1
            self.stats.udp_dropped += 1
            return None
        try:
            route = self._route(lis.bind, key, "UDP")
        except Exception:
            self.stats.udp_dropped += 1
            return None
        backend = self.backend_for(route.endpoint, "UDP")
        if not route.up or backend is None:
            self.stats.endpoint_down += 1
            self.stats.udp_dropped += 1
            return None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(backend.address(lis.bind.port))
        except OSError:
            sock.close()
            self.stats.udp_dropped += 1
            return None
        flow = UdpFlow(self, lis, key, route, sock)
        self.loop.add_reader(sock.fileno(), flow.on_readable)
        lis.flows[key] = flow
        self.stats.udp_flows += 1
        return flow

    # -- reporting ----------------------------------------------------------------------------
    def describe(self) -> list[str]:
        """The listener map (one line per accelerator listener and address), for the CLI."""
        lines: list[str] = []
        by: dict[tuple[str, int, int], list[tuple[str, int, int]]] = {}
        for b, host, port in self.bound:
            by.setdefault((b.accelerator, b.listener, b.zone), []).append((host, b.port, port))
        for name, number, model in self.router.accelerators():
            lines.append(f"accelerator {name} (#{number}): static {', '.join(model.addresses)}")
            for li, lst in enumerate(model.listeners):
                ranges = ",".join(str(r) for r in lst.port_ranges)
                for zone in range(2):
                    got = by.get((name, li, zone))
                    if not got:
                        continue
                    host = got[0][0]
                    ports = _ports_text([(p, bp) for _, p, bp in got])
                    lines.append(
                        f"  {lst.protocol} {ranges} ({lst.client_affinity}) "
                        f"{model.addresses[zone]} → {host} {ports}"
                    )
        for (name, proto), be in sorted({**self.echo_backends, **self.backends}.items()):
            kind = "echo" if (name, proto) in self.echo_backends else "backend"
            where = f"{be.host}:{be.port}" if be.port is not None else f"{be.host}:listener port"
            lines.append(f"  endpoint {name} {proto}: {kind} {where}")
        return lines


def _ports_text(pairs: list[tuple[int, int]]) -> str:
    same = all(p == bp for p, bp in pairs)
    if same:
        ps = [p for p, _ in pairs]
        if len(ps) > 1 and ps == list(range(ps[0], ps[0] + len(ps))):
            return f"ports {ps[0]}-{ps[-1]}"
        return "port " + ",".join(str(p) for p in ps)
    return ", ".join(f"{p}→:{bp}" for p, bp in pairs[:8]) + (" …" if len(pairs) > 8 else "")


def backends_from_options(
    router: GaRouter, options: Iterable[tuple[str, str | None, Backend]]
) -> dict[tuple[str, str], Backend]:
    """``--backend`` values → (endpoint, protocol) map; ValueError for unknown endpoints."""
    known = router.endpoints()
    out: dict[tuple[str, str], Backend] = {}
    for name, proto, be in options:
        if name not in known:
            raise ValueError(
                f"no endpoint '{name}' behind the accelerators (they use: {', '.join(known)})"
            )
        for p in (proto,) if proto else ("TCP", "UDP"):
            out[(name, p)] = be
    return out


def is_address_error(exc: OSError) -> bool:
    """An error binding a stand-in address (no 127/8 routing to it)."""
    return exc.errno in (errno.EADDRNOTAVAIL, errno.EADDRINUSE, errno.EACCES)
