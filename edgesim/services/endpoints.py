"""Endpoints: the servers behind everything (origins, API back ends), with queueing.

An endpoint sits at a site (a region, Local Zone, Wavelength zone or Outpost), has a pool of
``servers`` and a service-time distribution, and answers requests after the network trip from
whoever calls it, the queueing delay of :mod:`edgesim.sim.queueing` and its service time.
Compute models (EC2, ECS, Lambda, Batch) will refine ``servers`` and the service time.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, RootModel

from edgesim.errors import InputError, Problem
from edgesim.services.base import Service, Target
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.distributions import DurationDist
from edgesim.sim.queueing import ServerPool
from edgesim.topology.model import NodeKind
from edgesim.units import Duration, Fraction

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

SITE_KINDS = (NodeKind.REGION, NodeKind.LOCAL_ZONE, NodeKind.WAVELENGTH_ZONE, NodeKind.OUTPOST)


class EndpointSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    site: str = Field(description="region:us-east-1, lz:…, wlz:… or outpost:… (or a bare id)")
    servers: int = Field(default=16, ge=1, le=1_000_000, description="concurrent requests")
    service_time: DurationDist = Field(
        default="lognormal(median=10ms, sigma=0.5)", validate_default=True
    )
    error_rate: Fraction = 0.0
    timeout: Duration = Field(
        default="30s", validate_default=True, description="longest a request may queue"
    )
    azs: list[str] = Field(
        default_factory=list,
        description="AZ ids the servers are spread over evenly (default: all of the region's)",
    )
    connect_timeout: Duration = Field(
        default="10s",
        validate_default=True,
        description="how long a caller waits before giving up on a failed endpoint",
    )
    calls: list[str] = Field(
        default_factory=list,
        description="endpoints each request calls in turn from this endpoint's site (a "
        "database in the parent region, an API): their time adds up, their failures fail it",
    )


class EndpointsConfig(RootModel[list[EndpointSpec]]):
    """The ``endpoints:`` section: a list of endpoints."""


class EndpointTarget(Target):
    def __init__(self, spec: EndpointSpec, site_key: str, ctx: SimContext) -> None:
        self.spec = spec
        self.key = f"endpoint:{spec.name}"
        self.site_key = site_key
        self.site = ctx.idx(site_key)
        self.pool = ServerPool(spec.servers, spec.timeout / 1e9)
        self.rng = ctx.rng(self.key)
        self.up = True
        self.requests = 0
        self.errors = 0
        self.mean_service_s = spec.service_time.mean / 1e9
        self.extra_latency_ms = 0.0
        self.extra_error_rate = 0.0
        node = ctx.world.nodes[site_key]
        self.azs: tuple[str, ...] = tuple(spec.azs) or tuple(getattr(node, "azs", ()))
        self.down_azs: set[str] = set()
        self._chunk_start = -1
        self._arrivals = 0
        self._last_rate = 0.0
        self.collect_window = False
        self.window_requests = 0
        self.window_errors = 0
        self.window_ms: list[F64] = []
        self.callees: list[EndpointTarget] = []
        """Endpoints each request calls (``calls:``), resolved after every endpoint exists."""

    def take_window(self) -> tuple[int, int, float]:
        """Requests, errors and p99 of queue+service time (ms) since the last call."""
        p99 = float(np.percentile(np.concatenate(self.window_ms), 99)) if self.window_ms else 0.0
        out = (self.window_requests, self.window_errors, p99)
        self.window_requests = self.window_errors = 0
        self.window_ms = []
        return out

    def end_chunk(self, ctx: SimContext) -> None:
        """Carry the queue's backlog over the chunk that just ended."""
        chunk_s = max(ctx.chunk_ns / 1e9, 1e-9)
        arrivals = self._arrivals if self._chunk_start == ctx.chunk_start_ns else 0
        self.pool.end_chunk(arrivals, chunk_s, self.mean_service_s)
        self._last_rate = arrivals / chunk_s
        self._arrivals = 0
        self._chunk_start = -1

    def set_az(self, az: str, up: bool) -> bool:
        """Fail or recover one AZ: its share of the servers stops (or resumes) serving."""
        if az not in self.azs:
            return False
        if up:
            self.down_azs.discard(az)
        else:
            self.down_azs.add(az)
        alive = len(self.azs) - len(self.down_azs)
        self.pool.servers = (
            0 if alive == 0 else max(1, round(self.spec.servers * alive / len(self.azs)))
        )
        return True

    def is_up(self, ctx: SimContext) -> bool:
        """Up unless failed itself or its site failed (a Local Zone, Wavelength zone or
        Outpost keeps serving when only its parent region fails)."""
        return self.up and self.site_key not in ctx.world.down_nodes and self.pool.servers > 0

    def entry(self, ctx: SimContext, where: I32) -> I32:
        return np.full(len(where), self.site, dtype=np.int32)

    def serve(self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome) -> F64:
        n = len(flow)
        if n == 0:
            return np.zeros(0)
        counted = flow.start_ns >= ctx.warmup_ns
        self.requests += int(counted.sum())
        net_ms = 2.0 * ctx.site_one_way_ms(flow.src, self.site)
        hop = f"→{self.spec.name}"
        if not self.is_up(ctx):
            wait = np.full(n, self.spec.connect_timeout / 1e6)
            out.fail(flow.idx, 503)
            self.errors += int(counted.sum())
            if self.collect_window:
                self.window_requests += n
                self.window_errors += n
            out.hop(hop)[flow.idx] += wait
            return wait
        unreachable = ~np.isfinite(net_ms)
        net_ms = np.where(unreachable, self.spec.connect_timeout / 1e6, net_ms)
        chunk_s = max(ctx.chunk_ns / 1e9, 1e-9)
        offsets_s = (flow.start_ns - ctx.chunk_start_ns) / 1e9
        # Several flows (workloads, CDN misses) may reach this endpoint in one chunk: the queue
        # sees their sum. Until the chunk is over, estimate it from what has arrived so far
        # and the previous chunk's rate; the backlog is carried over once, at the end.
        if ctx.chunk_start_ns != self._chunk_start:
            self._chunk_start = ctx.chunk_start_ns
            self._arrivals = 0
            if ctx.load_changed:
                self._last_rate = 0.0
        self._arrivals += n
        rate = max(self._arrivals / chunk_s, self._last_rate)
        waits_s, rejected = self.pool.waits_s(
            offsets_s, chunk_s, self.mean_service_s, self.rng, arrival_rate=rate, commit=False
        )
        service_ms = self.spec.service_time.sample(self.rng, n) / 1e6 + self.extra_latency_ms
        errors = self.rng.random(n) < (self.spec.error_rate + self.extra_error_rate)
        total = net_ms + np.minimum(waits_s, self.spec.timeout / 1e9) * 1000.0 + service_ms
        out.hop(hop)[flow.idx] += net_ms
        out.hop(f"{self.spec.name} (queue+service)")[flow.idx] += total - net_ms
        out.site[flow.idx] = self.site
        bad_504 = rejected | unreachable
        bad_500 = errors & ~bad_504
        if bad_504.any():
            out.fail(flow.idx[bad_504], 504)
        if bad_500.any():
            out.fail(flow.idx[bad_500], 500)
        self.errors += int(((bad_504 | bad_500) & counted).sum())
        if self.collect_window:  # an alarm-style health check reads this period's figures
            self.window_requests += n
            self.window_errors += int((bad_504 | bad_500).sum())
            self.window_ms.append(total - net_ms)
        if self.callees:
            total = total + self._call(ctx, batch, flow, out, ~(bad_504 | bad_500))
        return total

    def _call(self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome, ok: Bool) -> F64:
        """Each served request calls the callees in turn from this site; a callee that is down
        or unreachable (an Outpost whose service link is cut) fails the request."""
        extra = np.zeros(len(flow))
        rows = np.flatnonzero(ok)
        for callee in self.callees:
            if len(rows) == 0:
                break
            sub = Flow(
                flow.idx[rows], np.full(len(rows), self.site, dtype=np.int32), flow.start_ns[rows]
            )
            got = callee.serve(ctx, batch, sub, out)
            got = np.where(np.isfinite(got), got, callee.spec.connect_timeout / 1e6)
            extra[rows] += got
            rows = rows[out.ok[flow.idx[rows]]]
        return extra


class Endpoints(Service):
    section: ClassVar[str] = "endpoints"
    summary: ClassVar[str] = "servers behind origins and APIs: site, servers, service time"
    config_model: ClassVar[type[BaseModel]] = EndpointsConfig
    order: ClassVar[int] = 10

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, EndpointsConfig)
        self.items: dict[str, EndpointTarget] = {}

        problems: list[Problem] = []
        for i, spec in enumerate(config.root):
            bad_az = [a for a in spec.azs if not any(a in r.azs for r in ctx.world.regions)]
            if bad_az:
                problems.append(
                    Problem(
                        f"unknown AZ '{bad_az[0]}'",
                        path=f"endpoints[{i}].azs",
                        expected="AZ ids of the world's regions, e.g. use1-az1",
                    )
                )
            if spec.name in self.items:
                problems.append(
                    Problem(
                        f"duplicate endpoint name '{spec.name}'",
                        path=f"endpoints[{i}].name",
                        expected="unique names",
                    )
                )
                continue
            try:
                site = ctx.world.resolve(spec.site, SITE_KINDS)
            except InputError as exc:
                problems.append(
                    Problem(
                        exc.problems[0].message,
                        path=f"endpoints[{i}].site",
                        expected="a region, Local Zone, Wavelength zone or Outpost",
                    )
                )
                continue
            if ctx.world.nodes[site].kind not in SITE_KINDS:
                problems.append(
                    Problem(
                        f"'{spec.site}' is not a place an endpoint can run",
                        path=f"endpoints[{i}].site",
                        expected="a region, Local Zone, Wavelength zone or Outpost",
                    )
                )
                continue
            self.items[spec.name] = EndpointTarget(spec, site, ctx)
        for i, spec in enumerate(config.root):
            target = self.items.get(spec.name)
            if target is None:
                continue
            for j, name in enumerate(spec.calls):
                callee = self.items.get(name.removeprefix("endpoint:"))
                if callee is None or callee is target:
                    problems.append(
                        Problem(
                            f"no other endpoint named '{name}'",
                            path=f"endpoints[{i}].calls[{j}]",
                            expected="one of: "
                            + ", ".join(sorted(n for n in self.items if n != spec.name)),
                        )
                    )
                    continue
                target.callees.append(callee)
        for i, spec in enumerate(config.root):
            if spec.name in self.items and self._cycle(self.items[spec.name]):
                problems.append(
                    Problem(
                        f"endpoint '{spec.name}' calls itself through its calls",
                        path=f"endpoints[{i}].calls",
                        expected="calls without cycles",
                    )
                )
        if problems:
            raise InputError(problems, file=ctx.file)

    @staticmethod
    def _cycle(start: EndpointTarget) -> bool:
        stack, seen = list(start.callees), set()
        while stack:
            t = stack.pop()
            if t is start:
                return True
            if id(t) not in seen:
                seen.add(id(t))
                stack.extend(t.callees)
        return False

    def targets(self) -> dict[str, Target]:
        return {t.key: t for t in self.items.values()}

    def tick(self, now_ns: int) -> None:
        for t in self.items.values():
            t.end_chunk(self.ctx)

    def fail(self, what: str, up: bool, at_ns: int) -> bool:
        if what.startswith("endpoint:") and what[9:] in self.items:
            self.items[what[9:]].up = up
            return True
        if what.startswith("az:"):
            hit = [t.set_az(what[3:], up) for t in self.items.values()]
            return any(hit)
        return False

    def report(self) -> dict[str, Any]:
        return {
            name: {
                "site": t.site_key,
                "requests": t.requests,
                "errors": t.errors,
                "servers": t.spec.servers,
                "backlog": round(t.pool.backlog, 3),
            }
            for name, t in sorted(self.items.items())
        }


def _site_azs(ctx: SimContext, site: str) -> tuple[str, ...]:
    try:
        key = ctx.world.resolve(site, SITE_KINDS)
    except InputError:
        return ()
    node = ctx.world.nodes[key]
    region = ctx.world.nodes.get(f"region:{getattr(node, 'parent', '')}", node)
    return tuple(getattr(region, "azs", ()))


SERVICES = (Endpoints,)
