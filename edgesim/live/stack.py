"""The live demo stack (``edgesim serve``): DNS, edges, endpoints, origins, accelerators,
a control API and a dashboard in one process, on one event loop (docs/live-stack.md).

The scenario is prepared **once**: one :class:`~edgesim.sim.engine.Run` and its SimContext
are shared by the DNS authority, the :class:`~edgesim.sim.live.LiveDriver` (timeline and
health checks on a :class:`~edgesim.sim.clock.WallClock`), the CloudFront edges, the
endpoint servers, the origins' up/down state and the accelerator proxy, so a control call
changes every hop at once.

Addresses (loopback by default, the same as the single-service commands):

* client group *i* is the source address ``127.1.(i // 256).(i % 256)``;
* endpoint *j* (in DNS answer order) listens on ``127.2.(j // 256).(j % 256):EDGE_PORT``;
* the PoP on node *n* listens on ``127.3.(n // 256).(n % 256):EDGE_PORT``;
* accelerators on their ``127.4``/``127.5`` stand-ins (``edgesim.live.ga``);
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
import importlib
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from aiohttp import web

from edgesim.dnsserver.authority import Authority, group_address, node_address
from edgesim.live.delay import Delayer
from edgesim.live.delay import now as mono_now
from edgesim.live.edge import CLIENT_HEADER, EdgeConfig, EdgePlan, EdgeServer

__all__ = ["COMPONENTS", "Listener", "Metrics", "Stack", "StackConfig", "StackError"]

COMPONENTS: Final = ("dns", "edges", "endpoints", "origins", "accelerators")
"""What ``--only`` can pick (the control API and dashboard always run)."""
LATENCY_WINDOW: Final = 512
"""Latencies kept per client group for the live p95."""


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


# ---- metrics ----------------------------------------------------------------------------------


@dataclass
class _GroupStats:
    dns: int = 0
    http: int = 0
    errors: int = 0
    latencies: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=LATENCY_WINDOW)
    )


class Metrics:
    """Live counts per client group: DNS answers, HTTP responses (edges and endpoints),
    5xx answers, and a sliding window of response latencies (ms) for the p95."""

    def __init__(self, group_names: list[str]) -> None:
        self.names = group_names
        self.groups = [_GroupStats() for _ in group_names]
        self.started = time.time()

    def dns(self, group: int) -> None:
        if 0 <= group < len(self.groups):
            self.groups[group].dns += 1

    def http(self, group: int, status: int, latency_ms: float) -> None:
        if 0 <= group < len(self.groups):
            g = self.groups[group]
            g.http += 1
            if status >= 500:
                g.errors += 1
            g.latencies.append(latency_ms)

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, g in zip(self.names, self.groups, strict=True):
            if not (g.dns or g.http):
                continue
            p95 = float(np.percentile(np.fromiter(g.latencies, float), 95)) if g.latencies else None
            out[name] = {
                "dns": g.dns,
                "http": g.http,
                "errors": g.errors,
                "p95_ms": None if p95 is None else round(p95, 1),
            }
        totals = {
            "dns": sum(g.dns for g in self.groups),
            "http": sum(g.http for g in self.groups),
            "errors": sum(g.errors for g in self.groups),
        }
        return {"uptime_s": round(time.time() - self.started, 1), "totals": totals, "groups": out}


def _group_of_source(addr: str, header: str | None, index: dict[str, int], n: int) -> int:
    if header is not None:
        return index.get(header.strip(), -1)
    if addr.startswith("127.1."):
        parts = addr.split(".")
        if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
            i = int(parts[2]) * 256 + int(parts[3])
            return i if i < n else -1
    return -1


class _MeteredEdge(EdgeServer):
    """An :class:`EdgeServer` that reports every answer to :class:`Metrics` and answers 503
    at a PoP the emulated world has failed (uses only the server's public methods)."""

    def __init__(self, *args: Any, metrics: Metrics, is_down: Callable[[int], bool], **kw: Any):
        super().__init__(*args, **kw)
        self.metrics = metrics
        self.is_down = is_down
        self._last: tuple[int, float] = (-1, 0.0)

    def client_rtt_s(self, group: int, pop: int) -> float:
        rtt = super().client_rtt_s(group, pop)
        self._last = (group, rtt)  # _dispatch asks this just before fast_hit/handle
        return rtt

    def fast_hit(self, dp: Any, req: Any, now_s: float) -> bytes | None:
        group, rtt = self._last
        if self.is_down(dp.pop.node):
            self.metrics.http(group, 503, rtt * 1000)
            return self.error_bytes({dp.dist.name: dp}, 503, "this edge location is down")
        data = super().fast_hit(dp, req, now_s)
        if data is not None:
            self.metrics.http(group, 200, rtt * 1000)
        return data

    async def handle(
        self, dp: Any, req: Any, body: bytes, group: int, arrival: float
    ) -> tuple[Any, float]:
        rtt = self._last[1]
        try:
            resp, at_pop = await super().handle(dp, req, body, group, arrival)
        except Exception:
            self.metrics.http(group, 500, (mono_now() - arrival + rtt) * 1000)
            raise
        self.metrics.http(group, int(resp.status), (max(at_pop, arrival) - arrival + rtt) * 1000)
        return resp, at_pop

    def invalidate(self, dist: str, paths: list[str]) -> int:
        """Drop every object ``paths`` cover from every tier of ``dist``; returns how many."""
        n = 0
        for per in self.at_pop.values():
            dp = per.get(dist)
            if dp is not None:
                n += dp.edge.invalidate(paths)
                dp.head_rendered.clear()
        for (d, _tier, _node), store in self._stores.items():
            if d == dist:
                n += store.invalidate(paths)
        return n


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
        self.listeners: list[Listener] = []
        self.notes: list[str] = []
        self.authority: Authority | None = None
        self.dns_server: Any = None
        self.dns_bound: tuple[str, int] | None = None
        self.driver: Any = None
        self.edge: _MeteredEdge | None = None
        self.edges: list[_MeteredEdge] = []
        """Every running edge server: the planned one, then any started on demand."""
        self._grow_task: asyncio.Task[None] | None = None
        self.plan: EdgePlan | None = None
        self.ga: Any = None
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
        self._delayer: Delayer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._rtt_cache: dict[tuple[int, int], float] = {}
        self._routes: dict[str, dict[str, str]] = {}
        self._routes_version = -1
        self._events_seen = 0
        self.decisions: collections.deque[dict[str, Any]] = collections.deque(maxlen=200)
        self._target_index: dict[str, int] = {}
        for t in self.ctx.targets.values():
            self._target_index.setdefault(t.key, len(self._target_index))
        self.started = False

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def load(cls, config: StackConfig) -> Stack:
        """Load and prepare the scenario; InputError for bad input."""
        from edgesim.scenario.loader import prepare_file

        return cls(config, prepare_file(config.scenario))

    # -- helpers ----------------------------------------------------------------------------
    def _node_down(self, node: int) -> bool:
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
        if self.ga is not None:
            with contextlib.suppress(Exception):
                self.ga.on_change()
        events = self.ctx.events
        if len(events) > self._events_seen:
            for ev in events[self._events_seen :]:
                self.publish("event", ev)
            self._events_seen = len(events)
        self.publish("change", {"version": self.version})
        if self.edge is not None and self._grow_task is None:
            missing = self._missing_pops()
            if missing:
                loop = asyncio.get_running_loop()
                self._grow_task = loop.create_task(self._grow_edges(missing))

    async def settle(self) -> None:
        """Wait until edges started on demand (after a change) are listening."""
        task = self._grow_task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(task)

    def _missing_pops(self) -> set[int]:
        """PoPs DNS now sends some client group to that no edge listens for (a failure
        moved them): the edges are planned once, so these get listeners on demand."""
        from edgesim.services.cloudfront import Distribution as SimDistribution

        served = {p.node for e in self.edges for p in e.plan.pops}
        gnodes = np.asarray(self.ctx.group_node(), dtype=np.int32)
        want: set[int] = set()
        for t in self.ctx.targets.values():
            if isinstance(t, SimDistribution):
                want.update(int(x) for x in t.entry(self.ctx, gnodes))
        return want - served

    async def _grow_edges(self, missing: set[int]) -> None:
        from edgesim.live.edge import plan_edges

        try:
            plan = plan_edges(self.run, port=self.edge_port)
            plan.pops = [p for p in plan.pops if p.node in missing]
            if not plan.pops:
                return
            base = self.edge_port + len([p for e in self.edges for p in e.plan.pops])
            if self.config.public:
                for i, p in enumerate(plan.pops):
                    p.host, p.port = self.config.listen_host, base + i
            edge = self._make_edge(plan)
            bound = await edge.start()
            self.edges.append(edge)
            for p, h, port in bound:
                self.listeners.append(Listener("edge", p.name, f"http://{h}:{port}/", "on demand"))
                self.publish("event", {"what": "edge started", "target": p.name})
        except Exception as exc:  # a busy address: report, keep serving the rest
            self.notes.append(f"edges: cannot start {sorted(missing)}: {exc}")
        finally:
            self._grow_task = None

    async def _bind(self, component: str, where: str, start: Callable[[], Awaitable[Any]]) -> Any:
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
        from edgesim.sim.clock import WallClock
        from edgesim.sim.live import LiveDriver

        loop = asyncio.get_running_loop()
        self._delayer = Delayer(loop)
        try:
            if self.edge_port == 0:
                self.edge_port = _free_port(self.config.listen_host)
            self.driver = LiveDriver(self.run, WallClock(loop, self.config.speed))
            self.driver.on_change = self._changed
            only = self.config.only
            if "origins" in only or "edges" in only:
                await self._start_origins()
            if "edges" in only:
                await self._start_edges()
            if "endpoints" in only:
                await self._start_endpoints()
            if "accelerators" in only:
                await self._start_accelerators()
            if "dns" in only:
                await self._start_dns()
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
        if self.dns_server is not None:
            await self.dns_server.stop()
            self.dns_server = None
        if self.ga is not None:
            with contextlib.suppress(Exception):
                await self.ga.stop()
            self.ga = None
        if self._grow_task is not None:
            self._grow_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._grow_task
        for e in self.edges:
            await e.stop()
        self.edges = []
        self.edge = None
        for r in reversed(self._runners):
            with contextlib.suppress(Exception):
                await r.cleanup()
        self._runners = []
        if self._delayer is not None:
            self._delayer.close()
            self._delayer = None

    async def _start_app(
        self, app: web.Application, host: str, port: int, component: str
    ) -> tuple[str, int]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.25)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
        await self._bind(component, f"{host}:{port}", site.start)
        addr = runner.addresses[-1]
        return str(addr[0]), int(addr[1])

    # origins: one local origin per CloudFront origin without a URL, 503 while its target is
    # down in the emulated world (an S3 bucket in a failed region, a failed endpoint).
    async def _start_origins(self) -> None:
        from edgesim.live.origin import OriginConfig, build_app
        from edgesim.services.cloudfront import Distribution as SimDistribution

        host = "127.0.0.1" if not self.config.public else self.config.listen_host
        for sim in self.ctx.targets.values():
            if not isinstance(sim, SimDistribution):
                continue
            for o in sim.spec.origins:
                if o.url is not None:
                    self.origin_urls[(sim.spec.name, o.name)] = o.url
                    continue
                target = sim.origins.get(o.name)
                app = build_app(OriginConfig(host=host, port=0))
                app.middlewares.append(_down_middleware(self, target))
                h, p = await self._start_app(app, host, 0, f"origin {sim.spec.name}/{o.name}")
                url = f"http://{h}:{p}"
                self.origin_urls[(sim.spec.name, o.name)] = url
                key = getattr(target, "key", "")
                self.listeners.append(Listener("origin", f"{sim.spec.name}/{o.name}", url, key))

    async def _start_edges(self) -> None:
        from edgesim.live.edge import plan_edges

        try:
            plan = plan_edges(self.run, port=self.edge_port)
        except ValueError as exc:
            self.notes.append(f"no edges: {exc}")
            return
        if self.config.public:
            for i, p in enumerate(plan.pops):
                p.host, p.port = self.config.listen_host, self.edge_port + i
        self.plan = plan
        edge = self.edge = self._make_edge(plan)
        self.edges.append(edge)
        bound = await self._bind(
            "edges", f"{plan.pops[0].host}:{self.edge_port} (and the other PoPs)", edge.start
        )
        standby = self._standby_plan(plan)
        if standby is not None:
            extra = self._make_edge(standby)
            self.edges.append(extra)
            bound += await self._bind("edges", "the standby PoPs", extra.start)
        for p, h, port in bound:
            groups = sorted({self.groups[g] for gs in p.groups.values() for g in gs})
            if p in (standby.pops if standby is not None else ()):
                groups = ["standby for " + ", ".join(groups[:2])]
            more = f" +{len(groups) - 3}" if len(groups) > 3 else ""
            self.listeners.append(
                Listener("edge", p.name, f"http://{h}:{port}/", ", ".join(groups[:3]) + more)
            )

    def _standby_plan(self, plan: EdgePlan) -> EdgePlan | None:
        """The PoPs client groups go to when their own PoP fails, planned now (with every
        planned PoP failed for a moment) so they listen before DNS hands them out."""
        from edgesim.live.edge import plan_edges

        world = self.ctx.world
        first = [str(self.ctx.node_keys[p.node]) for p in plan.pops]
        was_down = set(world.down_nodes)
        try:
            for key in first:
                world.set_node_up(key, False)
            standby = plan_edges(self.run, port=self.edge_port)
        except ValueError:
            return None
        finally:
            for key in first:
                if key not in was_down:
                    world.set_node_up(key, True)
        planned = {p.node for p in plan.pops}
        standby.pops = [p for p in standby.pops if p.node not in planned]
        if self.config.public:
            for i, p in enumerate(standby.pops):
                p.host, p.port = self.config.listen_host, self.edge_port + len(plan.pops) + i
        return standby if standby.pops else None

    def _make_edge(self, plan: EdgePlan) -> _MeteredEdge:
        return _MeteredEdge(
            plan,
            EdgeConfig(delay=self.config.delay, seed=int(self.run.scenario.seed)),
            origin_urls=self.origin_urls,
            metrics=self.metrics,
            is_down=self._node_down,
        )

    async def _start_endpoints(self) -> None:
        from edgesim.services.endpoints import EndpointTarget

        eps = [t for t in self.ctx.targets.values() if isinstance(t, EndpointTarget)]
        for i, t in enumerate(eps):
            idx = self._target_index[t.key]
            if self.config.public:
                host, port = self.config.listen_host, self.edge_port + 1000 + i
            else:
                host, port = node_address(2, idx), self.edge_port
            app = web.Application(client_max_size=1 << 20)
            app.router.add_route("*", "/{tail:.*}", _endpoint_handler(self, t))
            h, p = await self._start_app(app, host, port, f"endpoint {t.spec.name}")
            self.endpoint_addr[t.spec.name] = (h, p)
            self.listeners.append(Listener("endpoint", t.spec.name, f"http://{h}:{p}/", t.site_key))

    async def _start_accelerators(self) -> None:
        if not _has_accelerators(self.run):
            return
        try:
            ga = importlib.import_module("edgesim.live.ga")
        except ImportError:
            self.notes.append("accelerators: edgesim.live.ga is not available; skipped")
            return
        proxy_cls = getattr(ga, "GaProxy", None)
        config_cls = getattr(ga, "GaConfig", None)
        if proxy_cls is None or config_cls is None:
            self.notes.append("accelerators: edgesim.live.ga has no GaProxy/GaConfig; skipped")
            return
        kw: dict[str, Any] = {"delay": self.config.delay, "port_offset": self.config.ga_port_offset}
        if self.config.public:
            kw["listen_host"] = self.config.listen_host
        try:
            proxy = proxy_cls(self.run, config_cls(**kw))
        except (ValueError, TypeError) as exc:
            self.notes.append(f"accelerators: {exc}; skipped")
            return
        self.ga = proxy
        await self._bind("accelerators", "the accelerator stand-in addresses", proxy.start)
        for line in proxy.describe():
            self.listeners.append(Listener("accelerator", "", "", line.strip()))
        self.notes.extend(f"accelerators: {n}" for n in getattr(proxy, "notes", []))

    async def _start_dns(self) -> None:
        from edgesim.dnsserver.authority import scenario_authority
        from edgesim.dnsserver.server import DnsServer

        try:
            auth = scenario_authority(self.run)
        except ValueError as exc:
            self.notes.append(f"no DNS: {exc}")
            return
        self.authority = auth
        inner = auth.handle
        metrics = self.metrics
        source_group = auth._source_group

        def handle(wire: bytes, source: str, *, udp: bool) -> bytes | None:
            metrics.dns(source_group(source))
            return inner(wire, source, udp=udp)

        auth.handle = handle  # type: ignore[method-assign]
        server = DnsServer(auth, self.config.listen_host, self.config.dns_port)
        where = f"{self.config.listen_host}:{self.config.dns_port} (UDP and TCP)"
        self.dns_bound = await self._bind("dns", where, server.start)
        self.dns_server = server
        h, p = self.dns_bound
        self.listeners.append(
            Listener("dns", "Route 53", f"dns://{h}:{p}", ", ".join(str(z) for z in auth.zones))
        )

    async def _start_control(self) -> None:
        from edgesim.live.control import control_app

        app = control_app(self)
        self.control_bound = await self._start_app(
            app, self.config.control_host, self.config.control_port, "control API"
        )
        h, p = self.control_bound
        self.listeners.append(Listener("control", "API + dashboard", f"http://{h}:{p}/"))

    async def _start_proxy(self) -> None:
        from edgesim.live.proxy import HttpProxy

        assert self.config.http_proxy is not None
        host, port = self.config.http_proxy
        proxy = HttpProxy(self)
        self.proxy_bound = await self._bind(
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
        parts = addr.split(".")
        if len(parts) != 4 or parts[0] != "127" or not all(x.isdigit() for x in parts):
            return addr
        i = int(parts[2]) * 256 + int(parts[3])
        if parts[1] == "3" and i < len(self.ctx.node_keys):
            return str(self.ctx.node_keys[i])
        if parts[1] == "2":
            for key, j in self._target_index.items():
                if j == i:
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
            self.routes()
            self.publish("metrics", self.metrics.snapshot())

    def topology(self) -> dict[str, Any]:
        """Nodes for the map: regions, PoPs, RECs, zones, Outposts, client groups, endpoints."""
        from edgesim.topology.model import EdgeLocation, NodeKind

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
                    "address": node_address(3, i) if i in used_pops else None,
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
        if key.startswith("endpoint:"):
            addr = self.endpoint_addr.get(key.split(":", 1)[1])
            return f"{addr[0]}:{addr[1]}" if addr else None
        return None


def _has_accelerators(run: Any) -> bool:
    return any(k.startswith("accelerator:") for k in run.ctx.targets) or any(
        type(s).__name__.lower().startswith("accelerator") for s in run.services
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host if _is_loopback(host) else "127.0.0.1", 0))
        return int(s.getsockname()[1])


def _down_middleware(stack: Stack, target: Any) -> Any:
    @web.middleware
    async def mw(request: web.Request, handler: Any) -> web.StreamResponse:
        if target is not None and not target.is_up(stack.ctx) and request.path != "/healthz":
            return web.Response(
                status=503,
                text="503 Service Unavailable (the emulated origin is down)\n",
                headers={"Cache-Control": "no-store"},
            )
        resp: web.StreamResponse = await handler(request)
        return resp

    return mw


def _endpoint_handler(
    stack: Stack, target: Any
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An endpoint's live server: JSON naming the endpoint, after the client group's round
    trip to its site; 503 while the endpoint (or its site) is down."""
    name: str = target.spec.name
    site: int = int(target.site)

    async def handle(request: web.Request) -> web.StreamResponse:
        arrival = mono_now()
        peer = request.remote or ""
        group = _group_of_source(
            peer, request.headers.get(CLIENT_HEADER), stack.group_index, len(stack.groups)
        )
        if request.can_read_body:
            await request.read()
        rtt = stack.client_rtt_ms(group, site) if group >= 0 and stack.config.delay else 0.0
        up = target.is_up(stack.ctx)
        status = 200 if up else 503
        if rtt > 0 and stack._delayer is not None:
            await stack._delayer.until(arrival + rtt / 1000)
        stack.metrics.http(group, status, (mono_now() - arrival) * 1000)
        body = {
            "endpoint": name,
            "site": target.site_key,
            "up": up,
            "group": stack.groups[group] if group >= 0 else None,
            "rtt_ms": round(rtt, 2),
            "path": request.path,
        }
        return web.Response(
            status=status,
            text=json.dumps(body) + "\n",
            content_type="application/json",
            headers={"Cache-Control": "no-store", "Server": f"edgesim-endpoint/{name}"},
        )

    return handle
