"""The live demo stack (``edgesim serve``): DNS, edges, endpoints, origins, accelerators,
a control API and a dashboard in one process, on one event loop (docs/live-stack.md).

The scenario is prepared **once**: one :class:`~edgesim.sim.engine.Run` and its SimContext
are shared by the DNS authority, the :class:`~edgesim.sim.live.LiveDriver` (timeline and
health checks on a :class:`~edgesim.live.clock.WallClock`), the CloudFront edges, the
endpoint servers, the origins' up/down state and the accelerator proxy, so a control call
changes every hop at once.

Addresses (loopback by default, the same as the single-service commands):

* client group *i* is the source address ``127.1.(i // 256).(i % 256)``;
* endpoint *j* (in DNS answer order) listens on ``127.2.(j // 256).(j % 256):EDGE_PORT``;
* the PoP on node *n* listens on ``127.3.(n // 256).(n % 256):EDGE_PORT``;
* accelerators on their ``127.4``/``127.5`` stand-ins (``edgesim.services.accelerator.live``);
* DNS, the control API and the HTTP proxy on ``--listen-host`` (127.0.0.1).

With a non-loopback ``listen_host`` (containers), every listener binds that host instead and
PoPs and endpoints get consecutive ports from ``edge_port`` (DNS answers still name the
loopback addresses: inside a container, use the proxy or ``X-Edgesim-Client``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import ipaddress
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from aiohttp import web

from edgesim.dnsserver.authority import Authority
from edgesim.live.addresses import (
    ENDPOINT_PREFIX,
    POP_PREFIX,
    group_address,
    index_of,
    pop_address,
)
from edgesim.live.clock import WallClock
from edgesim.live.component import COMPONENTS, Component, load_components
from edgesim.live.control import control_app
from edgesim.live.delay import Delayer
from edgesim.live.edge import EdgePlan
from edgesim.live.errlog import logged
from edgesim.live.metrics import Metrics
from edgesim.live.prometheus import PromMetrics
from edgesim.live.proxy import HttpProxy
from edgesim.scenario.loader import prepare_file
from edgesim.sim.live import LiveDriver
from edgesim.topology.model import EdgeLocation, NodeKind

if TYPE_CHECKING:
    from edgesim.live.cloudfront import MeteredEdge

__all__ = [
    "COMPONENTS",
    "Listener",
    "Metrics",
    "Stack",
    "StackConfig",
    "StackError",
]


KEEPALIVE_IDLE_S: Final = 75.0
"""Idle keep-alive connections to the control API, endpoints and origins close after this."""


class StackError(Exception):
    """A clear, user-facing start-up failure (port in use, bad scenario …)."""


@dataclass(frozen=True)
class StackConfig:
    scenario: Path
    listen_host: str = "127.0.0.1"
    dns_port: int = 5353
    edge_port: int = 8080
    """Port on every PoP and endpoint address (0: one free port shared by all)."""
    control_host: str = "127.0.0.1"
    control_port: int = 8053
    token: str | None = None
    speed: float = 1.0
    delay: bool = True
    http_proxy: tuple[str, int] | None = None
    only: frozenset[str] = frozenset(COMPONENTS)
    ga_port_offset: int = 0
    """Added to accelerator listener ports (443 → 10443 with 10000)."""
    metrics_interval_s: float = 1.0
    """How often the SSE stream sends a metrics snapshot."""
    traffic_rps: float | None = None
    """Built-in clients' requests per second in all (``--traffic``); None: no traffic."""

    @property
    def public(self) -> bool:
        return not _is_loopback(self.listen_host)


@dataclass(frozen=True)
class Listener:
    component: str
    name: str
    url: str
    note: str = ""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---- the stack ----------------------------------------------------------------------------


class Stack:
    """Everything ``edgesim serve`` runs. ``Stack.load(config)`` prepares the scenario (no
    I/O besides reading files); ``await start()`` binds every listener (StackError on a busy
    port, with everything started so far stopped again); ``await stop()`` closes all."""

    def __init__(self, config: StackConfig, run: Any) -> None:
        self.config = config
        self.run = run
        self.ctx = run.ctx
        self.token = config.token or secrets.token_urlsafe(16)
        self.groups: list[str] = [g.name for g in run.groups]
        self.group_index = {n: i for i, n in enumerate(self.groups)}
        self.metrics = Metrics(self.groups)
        self.metrics.prom = PromMetrics(self.groups, state=self.state)
        self.listeners: list[Listener] = []
        self.notes: list[str] = []
        self.authority: Authority | None = None
        self.dns_server: Any = None
        self.dns_bound: tuple[str, int] | None = None
        self.driver: Any = None
        # What the components (edgesim.live.component) started, for the control API, the
        # dashboard and the HTTP proxy:
        self.edge: MeteredEdge | None = None
        """The edge server of the planned PoPs (CloudFront)."""
        self.edges: list[MeteredEdge] = []
        """Every running edge server: the planned one, then any started on demand."""
        self.plan: EdgePlan | None = None
        self.ga: Any = None
        """The accelerators' proxy."""
        self.proxy: Any = None
        self.proxy_bound: tuple[str, int] | None = None
        self.control_bound: tuple[str, int] | None = None
        self.edge_port = config.edge_port
        self.endpoint_addr: dict[str, tuple[str, int]] = {}
        """Endpoint name → (host, port) it is served on."""
        self.origin_urls: dict[tuple[str, str], str] = {}
        self.subscribers: set[asyncio.Queue[tuple[str, Any]]] = set()
        self.version = 0
        self._runners: list[web.AppRunner] = []
        self.delayer: Delayer | None = None
        self.components: list[Component] = load_components(self)
        self._ticker: asyncio.Task[None] | None = None
        self._rtt_cache: dict[tuple[int, int], float] = {}
        self._routes: dict[str, dict[str, str]] = {}
        self._routes_version = -1
        self._events_seen = 0
        self.decisions: collections.deque[dict[str, Any]] = collections.deque(maxlen=200)
        self.target_index: dict[str, int] = {}
        """Scenario target → its number in the address plan (endpoints: ``127.2.x.y``)."""
        for t in self.ctx.targets.values():
            self.target_index.setdefault(t.key, len(self.target_index))
        self.started = False

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def load(cls, config: StackConfig) -> Stack:
        """Load and prepare the scenario; InputError for bad input."""
        return cls(config, prepare_file(config.scenario))

    # -- helpers ----------------------------------------------------------------------------
    def node_down(self, node: int) -> bool:
        return str(self.ctx.node_keys[node]) in self.ctx.world.down_nodes

    def target_up(self, key: str) -> bool:
        t = self.ctx.targets.get(key)
        return bool(t is None or t.is_up(self.ctx))

    def client_rtt_ms(self, group: int, site: int) -> float:
        key = (group, site)
        v = self._rtt_cache.get(key)
        if v is None:
            gnode = np.array([int(self.ctx.group_node()[group])], dtype=np.int32)
            one = float(self.ctx.client_one_way_ms(gnode, np.array([site], dtype=np.int32))[0])
            v = self._rtt_cache[key] = 2 * one if np.isfinite(one) else 0.0
        return v

    def publish(self, kind: str, data: Any) -> None:
        for q in list(self.subscribers):
            if q.qsize() < 1000:
                q.put_nowait((kind, data))

    def _changed(self) -> None:
        self.version += 1
        for c in self.components:
            with logged(f"{c.name}: on_change"):
                c.on_change()
        events = self.ctx.events
        if len(events) > self._events_seen:
            for ev in events[self._events_seen :]:
                self.publish("event", ev)
            self._events_seen = len(events)
        self.publish("change", {"version": self.version})

    async def settle(self) -> None:
        """Wait until listeners started on demand after a change (edges) are listening."""
        for c in self.components:
            await c.settle()

    async def bind(self, component: str, where: str, start: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StackError(
                    f"{component}: {where} is already in use (is another `edgesim serve` "
                    "running? stop it, or pick other ports)"
                ) from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise StackError(
                    f"{component}: cannot bind {where}: no such local address"
                ) from None
            raise StackError(
                f"{component}: cannot listen on {where}: {exc.strerror or exc}"
            ) from None

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> list[Listener]:
        loop = asyncio.get_running_loop()
        self.delayer = Delayer(loop)
        try:
            if self.edge_port == 0:
                self.edge_port = _free_port(self.config.listen_host)
            self.driver = LiveDriver(self.run, WallClock(loop, self.config.speed))
            self.driver.on_change = self._changed
            for c in self.components:
                if c.wanted(self.config.only):
                    await c.start()
            await self._start_control()
            if self.config.http_proxy is not None:
                await self._start_proxy()
            self.driver.start()
            self._ticker = loop.create_task(self._tick())
        except BaseException:
            await self.stop()
            raise
        self.started = True
        return self.listeners

    async def stop(self) -> None:
        """Close every listener and connection (bounded: SSE streams end at once)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ticker
            self._ticker = None
        for q in list(self.subscribers):
            q.put_nowait(("stop", None))
        if self.proxy is not None:
            await self.proxy.stop()
            self.proxy = None
        for c in reversed(self.components):
            with logged(f"{c.name}: stop"):
                await c.stop()
        for r in reversed(self._runners):
            with contextlib.suppress(Exception):
                await r.cleanup()
        self._runners = []
        if self.delayer is not None:
            self.delayer.close()
            self.delayer = None

    async def start_app(
        self, app: web.Application, host: str, port: int, component: str
    ) -> tuple[str, int]:
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=0.25,
            keepalive_timeout=KEEPALIVE_IDLE_S,  # aiohttp's default is an hour
        )
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
        await self.bind(component, f"{host}:{port}", site.start)
        addr = runner.addresses[-1]
        return str(addr[0]), int(addr[1])

    async def _start_control(self) -> None:
        app = control_app(self)
        self.control_bound = await self.start_app(
            app, self.config.control_host, self.config.control_port, "control API"
        )
        h, p = self.control_bound
        self.listeners.append(Listener("control", "API + dashboard", f"http://{h}:{p}/"))

    async def _start_proxy(self) -> None:
        assert self.config.http_proxy is not None
        host, port = self.config.http_proxy
        proxy = HttpProxy(self)
        self.proxy_bound = await self.bind(
            "http proxy", f"{host}:{port}", lambda: proxy.start(host, port)
        )
        self.proxy = proxy
        h, p = self.proxy_bound
        self.listeners.append(Listener("proxy", "HTTP proxy", f"http://{h}:{p}", "user = group"))

    # -- live views -------------------------------------------------------------------------
    def resolve(self, host: str, group: int) -> list[str]:
        """A-record addresses the emulated DNS gives ``group`` for ``host`` (in-process)."""
        auth = self.authority
        if auth is None:
            return []
        ans = auth.lookup(host.rstrip(".").lower(), "A", group, None, None)
        if ans is None:
            return []
        return [v for rr in ans.answer if rr.rdtype == "A" for v in rr.values]

    def label(self, addr: str) -> str:
        """What a DNS answer's address stands for: a PoP id or an endpoint name."""
        pop = index_of(addr, POP_PREFIX)
        if 0 <= pop < len(self.ctx.node_keys):
            return str(self.ctx.node_keys[pop])
        endpoint = index_of(addr, ENDPOINT_PREFIX)
        if endpoint >= 0:
            for key, j in self.target_index.items():
                if j == endpoint:
                    return key
        return addr

    def routes(self) -> dict[str, dict[str, str]]:
        """host → client group → what DNS sends it to now (recomputed when state changes)."""
        if self._routes_version == self.version or self.authority is None:
            return self._routes
        out: dict[str, dict[str, str]] = {}
        for host in self.authority.names:
            per: dict[str, str] = {}
            for gi, g in enumerate(self.groups):
                addrs = self.resolve(host, gi)
                per[g] = self.label(addrs[0]) if addrs else "-"
            out[host] = per
        if self._routes and self._routes_version >= 0:
            for host, per in out.items():
                old = self._routes.get(host, {})
                moved = [(g, old.get(g), new) for g, new in per.items() if old.get(g) != new]
                if moved:
                    d = {
                        "time": time.time(),
                        "host": host,
                        "moved": len(moved),
                        "examples": [f"{g}: {a} → {b}" for g, a, b in moved[:5]],
                    }
                    self.decisions.append(d)
                    self.publish("decision", d)
        self._routes, self._routes_version = out, self.version
        return out

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.driver.state()) if self.driver is not None else {}
        out["version"] = self.version
        out["decisions"] = list(self.decisions)[-20:]
        return out

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.metrics_interval_s)
            if not self.subscribers:
                continue
            with logged("metrics stream"):
                self.routes()
                self.publish("metrics", self.metrics.snapshot())

    def topology(self) -> dict[str, Any]:
        """Nodes for the map: regions, PoPs, RECs, zones, Outposts, client groups, endpoints."""
        world = self.ctx.world
        used_pops = {p.node for p in self.plan.pops} if self.plan is not None else set()
        nodes: list[dict[str, Any]] = []
        wanted = {
            NodeKind.REGION,
            NodeKind.POP,
            NodeKind.LOCAL_ZONE,
            NodeKind.WAVELENGTH_ZONE,
            NodeKind.OUTPOST,
        }
        index = {str(k): i for i, k in enumerate(self.ctx.node_keys)}
        for key, n in world.nodes.items():
            if n.kind not in wanted:
                continue
            kind = str(n.kind)
            if isinstance(n, EdgeLocation) and n.tier != "edge":
                kind = "rec"
            i = index.get(str(key), -1)
            nodes.append(
                {
                    "id": str(key),
                    "kind": kind,
                    "lat": round(float(n.lat), 3),
                    "lon": round(float(n.lon), 3),
                    "live": i in used_pops,
                    "address": pop_address(i) if i in used_pops else None,
                }
            )
        gnodes = self.ctx.group_node()
        for gi, g in enumerate(self.groups):
            n = world.nodes[self.ctx.node_keys[int(gnodes[gi])]]
            nodes.append(
                {
                    "id": f"group:{g}",
                    "kind": "client",
                    "name": g,
                    "lat": round(float(n.lat), 3),
                    "lon": round(float(n.lon), 3),
                    "address": group_address(gi),
                }
            )
        targets = []
        for key, t in sorted(self.ctx.targets.items()):
            site = getattr(t, "site_key", None)
            targets.append({"id": key, "site": site, "address": self._target_address(key)})
        return {
            "scenario": str(self.run.scenario.name),
            "nodes": nodes,
            "targets": targets,
            "hosts": self.authority.names if self.authority is not None else [],
            "distributions": [d.name for d in self.plan.dists] if self.plan is not None else [],
            "weights": sorted({k.rsplit(" ", 1)[0]: None for k in self.state().get("weights", {})}),
        }

    def _target_address(self, key: str) -> str | None:
        for c in self.components:
            addr = c.target_address(key)
            if addr is not None:
                return addr
        return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host if _is_loopback(host) else "127.0.0.1", 0))
        return int(s.getsockname()[1])
