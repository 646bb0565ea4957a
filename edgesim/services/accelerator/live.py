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
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, cast

import numpy as np

from edgesim.dnsserver.authority import ClientMap
from edgesim.latency.params import ACCESS_KINDS
from edgesim.live.addresses import group_address, standin_addresses
from edgesim.live.component import Component
from edgesim.live.delay import Delayer
from edgesim.live.delay import now as mono_now
from edgesim.live.stack import Listener
from edgesim.services.accelerator import model as ga
from edgesim.services.accelerator.service import AcceleratorTarget, GlobalAccelerator

__all__ = [
    "Backend",
    "Bind",
    "FlowRoute",
    "GaConfig",
    "GaProxy",
    "GaRouter",
    "Stats",
    "parse_backend",
    "plan_binds",
    "standin_addresses",
]

TCP_IDLE_S: Final = 340.0
"""GA's idle timeout for TCP flows."""
UDP_IDLE_S: Final = 30.0
"""GA's idle timeout for UDP flows."""
MAX_UDP_PAYLOAD: Final = 65507
READ_BATCH: Final = 64
"""Datagrams read per readiness callback before giving the loop back."""


# ---- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class GaConfig:
    delay: bool = True
    """Emulated delays on (``--no-delay``: plain proxy, for throughput)."""
    last_mile: bool = True
    """Add half the client group's last-mile round trip (mean over its access mix) each way."""
    client_rtt_ms: float | None = None
    """Fixed client↔edge round trip for every client (``--rtt``), instead of the model's."""
    backbone_rtt_ms: float | None = None
    """Fixed edge↔endpoint round trip for every endpoint (``--backbone-rtt``)."""
    listen_host: str | None = None
    """Bind every accelerator on this address instead of its stand-ins (both zones → one)."""
    port_offset: int = 0
    """Added to every listener port when binding (443 → 10443 with 10000)."""
    ephemeral: bool = False
    """Bind each listener port on a free port instead (tests); :meth:`GaProxy.start` says which."""
    only_ports: frozenset[int] = frozenset()
    """Bind only these listener ports (empty: all, up to ``max_ports`` per listener)."""
    max_ports: int = 64
    """Ports bound per listener port range list (GA allows 1–65535; sockets are not free)."""
    tcp_idle_s: float = TCP_IDLE_S
    udp_idle_s: float = UDP_IDLE_S
    max_datagram: int = 1472
    """Largest UDP payload forwarded (a 1,500-byte IPv4 MTU); larger ones are dropped."""
    max_tcp_flows: int = 20_000
    max_udp_flows: int = 20_000
    window_bytes: int = 4 * 1024 * 1024
    """Bytes of one TCP direction held in emulated flight before the sender is paused."""
    udp_queue_bytes: int = 64 * 1024 * 1024
    """Bytes of UDP datagrams held in emulated flight (all flows) before dropping."""
    connect_timeout_s: float = 10.0
    """Backend connection timeout (the client's connection is reset after it)."""


@dataclass(frozen=True)
class Backend:
    """Where an endpoint's traffic really goes. ``port`` None: the listener's own port
    (GA's default: the endpoint port is the listener port)."""

    host: str
    port: int | None = None

    def address(self, listener_port: int) -> tuple[str, int]:
        return self.host, self.port if self.port is not None else listener_port


def parse_backend(text: str) -> tuple[str, str | None, Backend]:
    """``ENDPOINT=HOST[:PORT]`` or ``ENDPOINT/tcp=…``, ``ENDPOINT/udp=…`` →
    (endpoint name, protocol or None for both, backend)."""
    name, sep, addr = text.partition("=")
    name = name.strip()
    if name.startswith("endpoint:"):
        name = name[len("endpoint:") :]
    proto: str | None = None
    if "/" in name:
        name, _, p = name.partition("/")
        if p.upper() not in ("TCP", "UDP"):
            raise ValueError(f"cannot read {text!r}: the protocol after '/' is tcp or udp")
        proto = p.upper()
    if not sep or not name or not addr:
        raise ValueError(f"cannot read {text!r}; expected ENDPOINT=HOST:PORT or ENDPOINT=HOST")
    host, colon, port_text = addr.strip().rpartition(":")
    if not colon:
        host, port_text = addr.strip(), ""
    host = host.strip("[]")
    if not host:
        raise ValueError(f"cannot read {text!r}: no host")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"cannot read {text!r}: the port is 1–65535")
        port = int(port_text)
    return name, proto, Backend(host, port)


# ---- planning and routing (no I/O) -------------------------------------------------------------


@dataclass(frozen=True)
class Bind:
    """One socket the proxy binds: an (accelerator, zone, protocol, port)."""

    accelerator: str
    number: int
    protocol: str
    listener: int
    zone: int
    """0: the first static address, 1: the second."""
    host: str
    port: int
    """The listener port GA sees (used by the flow hash and as the default backend port)."""
    bind_port: int
    """The port actually bound (``port + port_offset``, or 0 for a free one)."""


@dataclass(frozen=True)
class FlowRoute:
    """Where one new flow goes, and its emulated delays."""

    accelerator: str
    listener: int
    client_group: int
    edge: str
    """Ingress edge location id (``NRT57``)."""
    region: str
    """The endpoint group's Region."""
    endpoint: str
    """Endpoint name (without ``endpoint:``)."""
    mode: str
    """``normal``, ``failover`` or ``fail-open``."""
    client_ms: float
    """One way, client↔edge."""
    backbone_ms: float
    """One way, edge↔endpoint."""
    up: bool
    """False when the endpoint is down in the emulated world (health checks may lag)."""

    @property
    def rtt_ms(self) -> float:
        return 2.0 * (self.client_ms + self.backbone_ms)


def plan_binds(
    accelerators: Iterable[tuple[str, int, ga.Accelerator]], config: GaConfig
) -> tuple[list[Bind], list[str]]:
    """Sockets to bind for ``(name, number, model)`` accelerators, and notes on ports left out
    (``max_ports``, ``only_ports``)."""
    binds: list[Bind] = []
    notes: list[str] = []
    for name, number, model in accelerators:
        hosts = standin_addresses(number) if config.listen_host is None else (config.listen_host,)
        for li, lst in enumerate(model.listeners):
            ports: list[int] = []
            total = 0
            for pr in lst.port_ranges:
                for p in range(pr.start, pr.end + 1):
                    if config.only_ports and p not in config.only_ports:
                        continue
                    total += 1
                    if len(ports) < config.max_ports:
                        ports.append(p)
            if total > len(ports):
                notes.append(
                    f"{name} listener {li} ({lst.protocol}): {len(ports)} of {total} ports bound "
                    f"({ports[0]}–{ports[-1]}); --max-ports or --only-port for others"
                )
            for zone, host in enumerate(hosts):
                for p in ports:
                    bind_port = 0 if config.ephemeral else p + config.port_offset
                    if not config.ephemeral and not 1 <= bind_port <= 65535:
                        raise ValueError(
                            f"port {p} + offset {config.port_offset} is outside 1–65535"
                        )
                    binds.append(Bind(name, number, lst.protocol, li, zone, host, p, bind_port))
    return binds, notes


def _ip_int(text: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return 0


class GaRouter:
    """The scenario's accelerators as the proxy uses them: client groups, ingress edges,
    endpoint choice (the service's tables) and delays. No I/O."""

    def __init__(self, run: Any, config: GaConfig | None = None) -> None:
        self.run = run
        self.config = config or GaConfig()
        self.ctx = ctx = run.ctx
        svc = next((s for s in run.services if isinstance(s, GlobalAccelerator)), None)
        if svc is None or not svc.items:
            raise ValueError("the scenario has no accelerators section")
        self.service = svc
        self.targets: dict[str, AcceleratorTarget] = dict(svc.items)
        self.numbers = {n: i + 1 for i, n in enumerate(self.targets)}
        self.group_names = [g.name for g in run.groups]
        self.clients = ClientMap.loopback(len(run.groups))
        for i, subnet in enumerate(ctx.group_subnets):
            self.clients.networks.append((ipaddress.ip_network(subnet, strict=False), i))
        self.group_nodes = np.asarray(ctx.group_node(), dtype=np.int32)
        access = ctx.access_rtt_ms() if self.config.last_mile else np.zeros(len(ACCESS_KINDS))
        self.mile_ms = [
            float(np.dot(np.asarray(g.access_p, dtype=float), access))
            if self.config.last_mile
            else 0.0
            for g in run.groups
        ]
        self._delays: dict[tuple[int, int, int, int], tuple[float, float]] = {}
        self._src_ints: dict[str, int] = {}

    # -- pieces ----------------------------------------------------------------------------
    def accelerators(self) -> list[tuple[str, int, ga.Accelerator]]:
        return [(n, self.numbers[n], t.model) for n, t in self.targets.items()]

    def group_of(self, address: str) -> int:
        """Client group of a source address (the first group for unknown addresses)."""
        if not self.group_names:
            return 0
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return 0
        return self.clients.locate(ip)

    def edge_of(self, accelerator: str, group: int) -> int:
        """Node index of the ingress edge of client ``group`` for ``accelerator`` (now)."""
        t = self.targets[accelerator]
        if not len(self.group_nodes):
            return int(t.edges[0])
        where = self.group_nodes[group : group + 1]
        return int(t.client_entry(self.ctx, where, where)[0])

    def delays_ms(self, group: int, edge: int, site: int) -> tuple[float, float]:
        """(client↔edge one way, edge↔site one way) in ms, for the world as it is now."""
        ctx = self.ctx
        key = (int(ctx.world.version), group, edge, site)
        got = self._delays.get(key)
        if got is not None:
            return got
        cfg = self.config
        if cfg.client_rtt_ms is not None:
            c = cfg.client_rtt_ms / 2
        elif len(self.group_nodes):
            one = ctx.client_one_way_ms(
                self.group_nodes[group : group + 1], np.array([edge], dtype=np.int32)
            )[0]
            c = (2 * (float(one) if np.isfinite(one) else 0.0) + self.mile_ms[group]) / 2
        else:
            c = 0.0
        if cfg.backbone_rtt_ms is not None:
            b = cfg.backbone_rtt_ms / 2
        else:
            one = ctx.site_one_way_ms(np.array([edge], dtype=np.int32), site)[0]
            b = float(one) if np.isfinite(one) else 0.0
        if len(self._delays) > 100_000:
            self._delays.clear()
        self._delays[key] = (c, b)
        return c, b

    def route(
        self,
        accelerator: str,
        listener: int,
        zone: int,
        src_ip: str,
        src_port: int,
        dst_port: int,
        protocol: str,
    ) -> FlowRoute:
        """Route one new flow (the service's decision for this 5-tuple, now)."""
        t = self.targets[accelerator]
        st = t.listeners[listener]
        if t.dirty or st.tables is None:
            t.rebuild()
        group = self.group_of(src_ip)
        edge = self.edge_of(accelerator, group)
        pos = int(t.edge_pos[edge])
        src = self._src_ints.get(src_ip)
        if src is None:
            src = _ip_int(src_ip)
            if len(self._src_ints) < 65536:
                self._src_ints[src_ip] = src
        dst = _ip_int(t.model.addresses[zone])
        if st.spec.client_affinity == "SOURCE_IP":
            h = ga.flow_hash_source(src, dst)
        else:
            h = ga.flow_hash_5tuple(src, src_port, dst, dst_port, ga.PROTOCOL_NUMBERS[protocol])
        assert st.tables is not None
        g, ep, mode = st.tables.lookup(np.array([max(pos, 0)], dtype=np.int64), h)
        gi, ei = int(g[0]), int(ep[0])
        target = st.targets[gi][ei]
        c, b = self.delays_ms(group, edge, int(target.site))
        edge_arr = np.array([edge], dtype=np.int32)
        reachable = np.isfinite(self.ctx.site_one_way_ms(edge_arr, int(target.site))[0])
        return FlowRoute(
            accelerator=accelerator,
            listener=listener,
            client_group=group,
            edge=str(self.ctx.node_keys[edge]).split(":", 1)[1],
            region=st.spec.groups[gi].region,
            endpoint=st.spec.groups[gi].endpoints[ei].name,
            mode=ga.MODES[int(mode[0])],
            client_ms=c,
            backbone_ms=b,
            up=bool(target.is_up(self.ctx)) and bool(reachable),
        )

    def endpoint_up(self, name: str) -> bool:
        key = f"endpoint:{name}"
        target = self.ctx.targets.get(key)
        return bool(target.is_up(self.ctx)) if target is not None else False

    def endpoints(self, protocol: str | None = None) -> list[str]:
        """Endpoint names used by listeners (of ``protocol``), in configuration order."""
        out: list[str] = []
        for t in self.targets.values():
            for lst in t.model.listeners:
                if protocol is not None and lst.protocol != protocol:
                    continue
                for grp in lst.groups:
                    for e in grp.endpoints:
                        if e.name not in out:
                            out.append(e.name)
        return out

    def describe(self) -> list[str]:
        """Each client group's source address, ingress edge and client↔edge RTT."""
        lines = []
        first = next(iter(self.targets))
        for gi, name in enumerate(self.group_names[:20]):
            edge = self.edge_of(first, gi)
            c, _ = self.delays_ms(gi, edge, edge)
            eid = str(self.ctx.node_keys[edge]).split(":", 1)[1]
            lines.append(
                f"{name}: source {group_address(gi)} → edge {eid} (client↔edge RTT {2 * c:.1f} ms)"
            )
        if len(self.group_names) > 20:
            lines.append(f"… and {len(self.group_names) - 20} more client group(s)")
        return lines


# ---- statistics ---------------------------------------------------------------------------------


@dataclass
class Stats:
    tcp_flows: int = 0
    udp_flows: int = 0
    tcp_refused: int = 0
    """Client connections closed because the backend refused or timed out."""
    endpoint_down: int = 0
    """Flows (or datagrams without a flow) dropped because their endpoint was down."""
    flows_full: int = 0
    udp_dropped: int = 0
    """Datagrams dropped: too large, queue full, or the backend unreachable."""
    udp_oversize: int = 0
    idle_closed: int = 0
    per_endpoint: collections.Counter[str] = field(default_factory=collections.Counter)


# ---- the proxy -----------------------------------------------------------------------------------


class _TcpFlow:
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


class _TcpClientSide(asyncio.Protocol):
    def __init__(self, proxy: GaProxy, bind: Bind) -> None:
        self.proxy = proxy
        self.bind = bind
        self.flow: _TcpFlow | None = None

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


class _TcpUpstreamSide(asyncio.Protocol):
    def __init__(self, flow: _TcpFlow) -> None:
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


class _UdpFlow:
    """One client (address, port) on one listener socket: a connected upstream socket."""

    __slots__ = ("b_s", "c_s", "closed", "key", "last", "listener", "proxy", "route", "sock")

    def __init__(
        self,
        proxy: GaProxy,
        listener: _UdpListener,
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


class _UdpListener:
    """A listener port (UDP) on one stand-in address: a non-blocking socket read in batches."""

    def __init__(self, proxy: GaProxy, bind: Bind, sock: socket.socket) -> None:
        self.proxy = proxy
        self.bind = bind
        self.sock = sock
        self.flows: dict[tuple[str, int], _UdpFlow] = {}
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


class _EchoTcp(asyncio.Protocol):
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
        self.tcp_flows: set[_TcpFlow] = set()
        self.udp_listeners: list[_UdpListener] = []
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
                        lambda b=b: _TcpClientSide(self, b),  # type: ignore[misc]
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
                    lis = _UdpListener(self, b, sock)
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
                lambda: _EchoTcp(self._echo_conns), "127.0.0.1", 0, backlog=4096
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

    def _forget(self, flow: _TcpFlow) -> None:
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

    def _open_tcp(self, transport: asyncio.Transport, bind: Bind) -> _TcpFlow | None:
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
        flow = _TcpFlow(self, transport, route)
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

    async def _connect(self, flow: _TcpFlow, address: tuple[str, int]) -> None:
        try:
            async with asyncio.timeout(self.config.connect_timeout_s):
                transport, _ = await self.loop.create_connection(
                    lambda: _TcpUpstreamSide(flow), address[0], address[1]
                )
        except (OSError, TimeoutError):
            self.stats.tcp_refused += 1
            flow.connect_failed()
            return
        flow.connected(transport)

    def _open_udp(self, lis: _UdpListener, key: tuple[str, int]) -> _UdpFlow | None:
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
        flow = _UdpFlow(self, lis, key, route, sock)
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


# ---- in the live DNS ---------------------------------------------------------------------------


def dns_addresses(run: Any) -> dict[str, str]:
    """What live DNS answers for an alias to an accelerator: the proxy's stand-in for its first
    static address (accelerators numbered 1, 2, … in scenario order, as :class:`GaRouter`
    numbers them). Registered in :data:`edgesim.live.component.DNS_ADDRESSES`."""
    svc = next((s for s in run.services if isinstance(s, GlobalAccelerator)), None)
    if svc is None:
        return {}
    return {f"accelerator:{n}": standin_addresses(i + 1)[0] for i, n in enumerate(svc.items)}


# ---- in the live stack (edgesim serve) --------------------------------------------------------


class Accelerators(Component):
    """The scenario's accelerators as one proxy in the live stack."""

    name: ClassVar[str] = "accelerators"

    async def start(self) -> None:
        stack = self.stack
        if not any(isinstance(s, GlobalAccelerator) for s in stack.run.services):
            return
        kw: dict[str, Any] = {
            "delay": stack.config.delay,
            "port_offset": stack.config.ga_port_offset,
        }
        if stack.config.public:
            kw["listen_host"] = stack.config.listen_host
        try:
            proxy = GaProxy(stack.run, GaConfig(**kw))
        except (ValueError, TypeError) as exc:
            stack.notes.append(f"accelerators: {exc}; skipped")
            return
        stack.ga = proxy
        await stack.bind("accelerators", "the accelerator stand-in addresses", proxy.start)
        for line in proxy.describe():
            stack.listeners.append(Listener("accelerator", "", "", line.strip()))
        stack.notes.extend(f"accelerators: {n}" for n in proxy.notes)

    async def stop(self) -> None:
        if self.stack.ga is not None:
            with contextlib.suppress(Exception):
                await self.stack.ga.stop()
            self.stack.ga = None

    def on_change(self) -> None:
        if self.stack.ga is not None:
            with contextlib.suppress(Exception):
                self.stack.ga.on_change()
