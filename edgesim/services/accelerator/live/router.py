"""The live proxy's configuration, listener plan and per-flow routing through the scenario's
accelerator service (no I/O)."""

from __future__ import annotations

import collections
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from edgesim.dnsserver.authority import ClientMap
from edgesim.latency.params import ACCESS_KINDS
from edgesim.live.addresses import group_address, standin_addresses
from edgesim.services.accelerator import model as ga
from edgesim.services.accelerator.service import AcceleratorTarget, GlobalAccelerator

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
