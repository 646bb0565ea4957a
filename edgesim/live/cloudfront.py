"""CloudFront in the live stack: local origins for origins without a URL, and the edges
(:class:`~edgesim.live.edge.EdgeServer`, metered, 503 at a failed PoP), with standby PoPs
and PoPs started on demand when DNS moves clients to a PoP nobody listens on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from aiohttp import web

from edgesim.live.component import Component
from edgesim.live.delay import now as mono_now
from edgesim.live.edge import EdgeConfig, EdgePlan, EdgeServer, plan_edges
from edgesim.live.metrics import Metrics
from edgesim.live.origin import OriginConfig, build_app
from edgesim.live.stack import Listener, Stack
from edgesim.services.cloudfront.sim import Distribution as SimDistribution


class MeteredEdge(EdgeServer):
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
            self.metrics.edge_result(dp.pop.name, "Error")
            return self.error_bytes({dp.dist.name: dp}, 503, "this edge location is down")
        data = super().fast_hit(dp, req, now_s)
        if data is not None:
            self.metrics.http(group, 200, rtt * 1000)
            self.metrics.edge_result(dp.pop.name, "Hit")
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
        self.metrics.edge_result(dp.pop.name, str(resp.result))
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


class Origins(Component):
    """One local origin per CloudFront origin without a URL, 503 while its target is down in
    the emulated world (an S3 bucket in a failed region, a failed endpoint)."""

    name: ClassVar[str] = "origins"

    def wanted(self, only: frozenset[str]) -> bool:
        return "origins" in only or "edges" in only

    async def start(self) -> None:
        host = "127.0.0.1" if not self.stack.config.public else self.stack.config.listen_host
        for sim in self.stack.ctx.targets.values():
            if not isinstance(sim, SimDistribution):
                continue
            for o in sim.spec.origins:
                if o.url is not None:
                    self.stack.origin_urls[(sim.spec.name, o.name)] = o.url
                    continue
                target = sim.origins.get(o.name)
                app = build_app(OriginConfig(host=host, port=0))
                app.middlewares.append(_down_middleware(self.stack, target))
                h, p = await self.stack.start_app(app, host, 0, f"origin {sim.spec.name}/{o.name}")
                url = f"http://{h}:{p}"
                self.stack.origin_urls[(sim.spec.name, o.name)] = url
                key = getattr(target, "key", "")
                self.stack.listeners.append(
                    Listener("origin", f"{sim.spec.name}/{o.name}", url, key)
                )


class Edges(Component):
    """The edge locations the client groups are sent to, plus standby PoPs."""

    name: ClassVar[str] = "edges"

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack)
        self._grow_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            plan = plan_edges(self.stack.run, port=self.stack.edge_port)
        except ValueError as exc:
            self.stack.notes.append(f"no edges: {exc}")
            return
        if self.stack.config.public:
            for i, p in enumerate(plan.pops):
                p.host, p.port = self.stack.config.listen_host, self.stack.edge_port + i
        self.stack.plan = plan
        edge = self.stack.edge = self.make_edge(plan)
        self.stack.edges.append(edge)
        bound = await self.stack.bind(
            "edges", f"{plan.pops[0].host}:{self.stack.edge_port} (and the other PoPs)", edge.start
        )
        standby = self.standby_plan(plan)
        if standby is not None and self.stack.config.public:
            # containers: standby PoPs take the ports after the planned ones (published too)
            for i, p in enumerate(standby.pops):
                p.host = self.stack.config.listen_host
                p.port = self.stack.edge_port + len(plan.pops) + i
        if standby is not None:
            extra = self.make_edge(standby)
            self.stack.edges.append(extra)
            bound += await self.stack.bind("edges", "the standby PoPs", extra.start)
        for p, h, port in bound:
            groups = sorted({self.stack.groups[g] for gs in p.groups.values() for g in gs})
            if p in (standby.pops if standby is not None else ()):
                groups = ["standby for " + ", ".join(groups[:2])]
            more = f" +{len(groups) - 3}" if len(groups) > 3 else ""
            self.stack.listeners.append(
                Listener("edge", p.name, f"http://{h}:{port}/", ", ".join(groups[:3]) + more)
            )

    async def stop(self) -> None:
        if self._grow_task is not None:
            self._grow_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._grow_task
            self._grow_task = None
        for e in self.stack.edges:
            await e.stop()
        self.stack.edges = []
        self.stack.edge = None

    def on_change(self) -> None:
        if self.stack.edge is not None and self._grow_task is None:
            missing = self.missing_pops()
            if missing:
                loop = asyncio.get_running_loop()
                self._grow_task = loop.create_task(self.grow_edges(missing))

    async def settle(self) -> None:
        task = self._grow_task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(task)

    def standby_plan(self, plan: EdgePlan) -> EdgePlan | None:
        """The PoPs client groups go to when their own PoP fails, planned now (with every
        planned PoP failed for a moment) so they listen before DNS hands them out."""
        world = self.stack.ctx.world
        first = [str(self.stack.ctx.node_keys[p.node]) for p in plan.pops]
        was_down = set(world.down_nodes)
        try:
            for key in first:
                world.set_node_up(key, False)
            standby = plan_edges(self.stack.run, port=self.stack.edge_port)
        except ValueError:
            return None
        finally:
            for key in first:
                if key not in was_down:
                    world.set_node_up(key, True)
        planned = {p.node for p in plan.pops}
        standby.pops = [p for p in standby.pops if p.node not in planned]
        if self.stack.config.public:
            for i, p in enumerate(standby.pops):
                p.host, p.port = (
                    self.stack.config.listen_host,
                    self.stack.edge_port + len(plan.pops) + i,
                )
        return standby if standby.pops else None

    def make_edge(self, plan: EdgePlan) -> MeteredEdge:
        return MeteredEdge(
            plan,
            EdgeConfig(delay=self.stack.config.delay, seed=int(self.stack.run.scenario.seed)),
            origin_urls=self.stack.origin_urls,
            metrics=self.stack.metrics,
            is_down=self.stack.node_down,
        )

    def missing_pops(self) -> set[int]:
        """PoPs DNS now sends some client group to that no edge listens for (a failure
        moved them): the edges are planned once, so these get listeners on demand."""
        served = {p.node for e in self.stack.edges for p in e.plan.pops}
        gnodes = np.asarray(self.stack.ctx.group_node(), dtype=np.int32)
        want: set[int] = set()
        for t in self.stack.ctx.targets.values():
            if isinstance(t, SimDistribution):
                want.update(int(x) for x in t.entry(self.stack.ctx, gnodes))
        return want - served

    async def grow_edges(self, missing: set[int]) -> None:
        try:
            plan = plan_edges(self.stack.run, port=self.stack.edge_port)
            plan.pops = [p for p in plan.pops if p.node in missing]
            if not plan.pops:
                return
            base = self.stack.edge_port + len([p for e in self.stack.edges for p in e.plan.pops])
            if self.stack.config.public:
                for i, p in enumerate(plan.pops):
                    p.host, p.port = self.stack.config.listen_host, base + i
            edge = self.make_edge(plan)
            bound = await edge.start()
            self.stack.edges.append(edge)
            for p, h, port in bound:
                self.stack.listeners.append(
                    Listener("edge", p.name, f"http://{h}:{port}/", "on demand")
                )
                self.stack.publish("event", {"what": "edge started", "target": p.name})
        except Exception as exc:  # a busy address: report, keep serving the rest
            self.stack.notes.append(f"edges: cannot start {sorted(missing)}: {exc}")
        finally:
            self._grow_task = None


def public_ports(stack: Stack) -> dict[str, list[int]]:
    """The ports ``edgesim serve`` binds with a non-loopback ``--listen-host`` (containers),
    without binding them: the planned PoPs, then the standby PoPs, from ``--edge-port``; the
    endpoints from ``--edge-port + 1000``. docker-compose publishes these (a test checks)."""
    from edgesim.services.endpoints.live import public_endpoint_ports

    edges = Edges(stack)
    try:
        plan = plan_edges(stack.run, port=stack.config.edge_port)
    except ValueError:
        return {"edges": [], "endpoints": public_endpoint_ports(stack)}
    standby = edges.standby_plan(plan)
    n = len(plan.pops) + (len(standby.pops) if standby is not None else 0)
    base = stack.config.edge_port
    return {"edges": list(range(base, base + n)), "endpoints": public_endpoint_ports(stack)}
