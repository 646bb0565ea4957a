"""An endpoint as a simulation target: servers with queueing, the compute model's capacity
over time, versions under a deployment."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from edgesim.compute import lambdafn
from edgesim.compute.containers import TaskStart, task_start
from edgesim.compute.deploy import (
    Deployment,
)
from edgesim.compute.scaling import TargetTracking
from edgesim.services.base import Target
from edgesim.services.endpoints.model import EcsCompute, EndpointSpec, LambdaCompute
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.queueing import ServerPool
from edgesim.topology.model import NodeKind

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

Dependency = Callable[[SimContext, Batch, Flow, Outcome, Bool], tuple[F64, Bool]]
"""A read a served request makes (see :attr:`EndpointTarget.dependencies`)."""

SITE_KINDS = (NodeKind.REGION, NodeKind.LOCAL_ZONE, NodeKind.WAVELENGTH_ZONE, NodeKind.OUTPOST)


NS = 1_000_000_000
VERSION_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Version:
    """What one version changes: service time × factor, + extra latency, error rate."""

    __slots__ = ("error_rate", "extra_ms", "factor")

    def __init__(self, factor: float, extra_ms: float, error_rate: float) -> None:
        self.factor = factor
        self.extra_ms = extra_ms
        self.error_rate = error_rate


class EndpointTarget(Target):
    def __init__(
        self,
        spec: EndpointSpec,
        site_key: str,
        ctx: SimContext,
        *,
        registry_rtt_ms: float = 0.0,
    ) -> None:
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
        self.servers_out = 0
        """Servers another service has taken out of service (Systems Manager patching)."""
        self.dependencies: list[Dependency] = []
        """Hook for other services: reads each served request makes on its way (Parameter
        Store, AppConfig): each returns per request the ms it adds and whether it failed."""
        # ---- compute model -------------------------------------------------------------
        self.compute = spec.compute
        self.scaler: TargetTracking | None = None
        self.per_unit = 0
        self.task: TaskStart | None = None
        self.lam: lambdafn.LambdaPool | None = None
        self.lambda_factor = 1.0
        self.cold_ms = 0.0
        self.timeouts = 0
        self._factor_sum = 0.0
        self._busy_s = 0.0
        self._cap_s = 0.0
        self._period_requests = 0
        self._period_start_ns = 0
        c = spec.compute
        if isinstance(c, LambdaCompute):
            self.lam = lambdafn.LambdaPool(
                limit=c.concurrency, provisioned=c.provisioned, idle_ns=c.idle
            )
            self.lambda_factor = lambdafn.cpu_factor(c.memory, c.cpu_bound, c.threads)
            self.cold_ms = lambdafn.cold_start_ms(c.runtime, c.init / 1e6)
        elif c is not None:
            if isinstance(c, EcsCompute):
                self.task = task_start(
                    c.type,
                    c.image_size,
                    registry_rtt_ms,
                    cached=c.image_cached,
                    container_start_s=c.container_start / 1e9,
                    health_check_s=c.health_check / 1e9,
                    provisioning_s=None if c.provisioning is None else c.provisioning / 1e9,
                )
                delay_ns = round(self.task.total_s * 1e9)
            else:
                delay_ns = c.warmup
            self.per_unit = c.concurrency
            units = c.start_units
            self.scaler = TargetTracking(
                in_service=units,
                minimum=c.min if c.autoscaling else units,
                maximum=c.max if c.autoscaling else units,
                target=c.target_requests if c.target_requests is not None else c.target_utilization,
                delay_ns=delay_ns,
                metric="requests" if c.target_requests is not None else "utilization",
                scale_in_cooldown_ns=c.scale_in_cooldown,
            )
            self.pool.servers = units * c.concurrency
        # ---- versions and deployments --------------------------------------------------
        self.current = spec.version
        self.version_params: dict[str, _Version] = {
            spec.version: _Version(1.0, 0.0, spec.error_rate)
        }
        for name, v in spec.versions.items():
            self.version_params[name] = _Version(
                v.service_time_factor,
                v.extra_latency / 1e6,
                spec.error_rate if v.error_rate is None else v.error_rate,
            )
        self.deployment: Deployment | None = None
        self.deployments: list[Deployment] = []

    # ---- capacity ----------------------------------------------------------------------
    def total_servers(self) -> int:
        """Servers with every AZ up: the fixed ``servers`` or the compute model's units ×
        concurrency."""
        if self.scaler is not None:
            return self.scaler.in_service * self.per_unit
        return self.spec.servers

    def _apply_capacity(self) -> None:
        total = max(self.total_servers() - self.servers_out, 0)
        if not self.azs:
            self.pool.servers = total
            return
        alive = len(self.azs) - len(self.down_azs)
        self.pool.servers = (
            0 if alive == 0 or total == 0 else max(1, round(total * alive / len(self.azs)))
        )

    def set_servers_out(self, servers: int) -> None:
        """Hook for other services: ``servers`` of the endpoint's servers are out of service
        (instances being patched); AZ failures and the compute model apply on top."""
        self.servers_out = max(0, servers)
        self._apply_capacity()

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
        mean_s = self.mean_service_s
        if self._factor_sum and arrivals:
            mean_s = self.mean_service_s * self._factor_sum / arrivals
        if self.lam is not None:
            self.lam.end_chunk(ctx.chunk_start_ns + ctx.chunk_ns)
        else:
            self.pool.end_chunk(arrivals, chunk_s, mean_s)
        if self.scaler is not None:
            self._busy_s += arrivals * mean_s
            self._cap_s += self.pool.servers * chunk_s
            self._period_requests += arrivals
            if self.pool.backlog > 0:
                self._busy_s = max(self._busy_s, self._cap_s)
        self._last_rate = arrivals / chunk_s
        self._arrivals = 0
        self._factor_sum = 0.0
        self._chunk_start = -1

    def scale(self, now_ns: int) -> None:
        """At the end of a metric period: feed the period's metric to the scaling policy."""
        sc = self.scaler
        if sc is None or now_ns - self._period_start_ns < sc.period_ns:
            return
        if sc.metric == "requests":
            minutes = (now_ns - self._period_start_ns) / (60 * NS)
            value = self._period_requests / max(sc.in_service, 1) / max(minutes, 1e-9)
        else:
            value = min(1.0, self._busy_s / self._cap_s) if self._cap_s > 0 else 0.0
        before = sc.in_service
        sc.observe(now_ns, value)
        if sc.in_service != before:
            self._apply_capacity()
        self._busy_s = self._cap_s = 0.0
        self._period_requests = 0
        self._period_start_ns = now_ns

    def set_az(self, az: str, up: bool) -> bool:
        """Fail or recover one AZ: its share of the servers stops (or resumes) serving."""
        if az not in self.azs:
            return False
        if up:
            self.down_azs.discard(az)
        else:
            self.down_azs.add(az)
        self._apply_capacity()
        return True

    def is_up(self, ctx: SimContext) -> bool:
        """Up unless failed itself or its site failed (a Local Zone, Wavelength zone or
        Outpost keeps serving when only its parent region fails)."""
        return self.up and self.site_key not in ctx.world.down_nodes and self.pool.servers > 0

    def entry(self, ctx: SimContext, where: I32) -> I32:
        return np.full(len(where), self.site, dtype=np.int32)

    # ---- versions ----------------------------------------------------------------------
    def _versions(self, flow: Flow) -> tuple[Bool | None, F64 | float, F64 | float, F64 | float]:
        """Which requests the deployment's new version serves (None: no deployment), and
        per request the service-time factor, extra ms and error rate."""
        cur = self.version_params[self.current]
        dep = self.deployment
        if dep is None or not dep.active:
            return None, cur.factor, cur.extra_ms, cur.error_rate
        new_v = self.version_params[dep.to_version]
        new = self.rng.random(len(flow)) < dep.share_at(flow.start_ns)
        return (
            new,
            np.where(new, new_v.factor, cur.factor),
            np.where(new, new_v.extra_ms, cur.extra_ms),
            np.where(new, new_v.error_rate, cur.error_rate),
        )

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
        # Several flows (workloads, CDN misses) may reach this endpoint in one chunk: the queue
        # sees their sum. Until the chunk is over, estimate it from what has arrived so far
        # and the previous chunk's rate; the backlog is carried over once, at the end.
        if ctx.chunk_start_ns != self._chunk_start:
            self._chunk_start = ctx.chunk_start_ns
            self._arrivals = 0
            self._factor_sum = 0.0
            if ctx.load_changed:
                self._last_rate = 0.0
        self._arrivals += n
        new, factor, extra_ms, error_rate = self._versions(flow)
        if self.spec.versions:
            self._factor_sum += (
                float(np.sum(factor)) if isinstance(factor, np.ndarray) else (factor * n)
            )
        if self.lam is not None:
            work_ms, cold_ms, timed_out, throttled = self._lambda(
                ctx, flow, out, counted, factor, extra_ms
            )
        else:
            work_ms, timed_out = self._queue(ctx, flow, factor, extra_ms)
            cold_ms = None
            throttled = None
        errors = self.rng.random(n) < (error_rate + self.extra_error_rate)
        for read in self.dependencies:  # hook: configuration reads (edgesim.services.ssm)
            read_ms, read_failed = read(ctx, batch, flow, out, ~(timed_out | unreachable))
            work_ms = work_ms + read_ms
            errors |= read_failed
        out.hop(hop)[flow.idx] += net_ms
        out.hop(f"{self.spec.name} (queue+service)")[flow.idx] += work_ms
        if cold_ms is not None:
            work_ms = work_ms + cold_ms
        total = net_ms + work_ms
        out.site[flow.idx] = self.site
        fail_504 = timed_out | unreachable
        early = fail_504
        if throttled is not None:
            fail_504 = fail_504 & ~throttled
            early = fail_504 | throttled
            if throttled.any():
                out.fail(flow.idx[throttled], 429)
        bad_500 = errors & ~early
        if fail_504.any():
            out.fail(flow.idx[fail_504], 504)
        if bad_500.any():
            out.fail(flow.idx[bad_500], 500)
        bad = early | bad_500
        self.errors += int((bad & counted).sum())
        if self.collect_window:  # an alarm-style health check reads this period's figures
            self.window_requests += n
            self.window_errors += int(bad.sum())
            self.window_ms.append(work_ms)
        if new is not None and self.deployment is not None:
            dep = self.deployment
            dep.window(int(new.sum()), int((bad & new).sum()), work_ms[new & ~early])
            mine = new & counted
            if mine.any():
                dep.record(batch.group[flow.idx[mine]], bad[mine])
        if self.callees:
            total = total + self._call(ctx, batch, flow, out, ~bad)
        return total

    def _queue(
        self, ctx: SimContext, flow: Flow, factor: F64 | float, extra_ms: F64 | float
    ) -> tuple[F64, Bool]:
        """Queue (M/M/c or backlog) and service time at a pool of servers; which requests
        were turned away (504)."""
        n = len(flow)
        chunk_s = max(ctx.chunk_ns / 1e9, 1e-9)
        offsets_s = (flow.start_ns - ctx.chunk_start_ns) / 1e9
        rate = max(self._arrivals / chunk_s, self._last_rate)
        scaled = isinstance(factor, np.ndarray) or factor != 1.0
        mean_s = self.mean_service_s
        if scaled:
            mean_s = self.mean_service_s * float(np.mean(factor))
        waits_s, rejected = self.pool.waits_s(
            offsets_s, chunk_s, mean_s, self.rng, arrival_rate=rate, commit=False
        )
        service_ms = self.spec.service_time.sample(self.rng, n) / 1e6
        if scaled:
            service_ms = service_ms * factor
        service_ms = service_ms + extra_ms + self.extra_latency_ms
        work = np.minimum(waits_s, self.spec.timeout / 1e9) * 1000.0 + service_ms
        return work, rejected

    def _lambda(
        self,
        ctx: SimContext,
        flow: Flow,
        out: Outcome,
        counted: Bool,
        factor: F64 | float,
        extra_ms: F64 | float,
    ) -> tuple[F64, F64, Bool, Bool]:
        """Lambda: handler time by memory, cold starts, throttling (429), the timeout (504).
        Returns the handler's ms, the cold-start ms, timed-out and throttled requests."""
        assert self.lam is not None
        assert isinstance(self.compute, LambdaCompute)
        n = len(flow)
        handler_ms = self.spec.service_time.sample(self.rng, n) / 1e6 * self.lambda_factor
        if isinstance(factor, np.ndarray) or factor != 1.0:
            handler_ms = handler_ms * factor
        handler_ms = handler_ms + extra_ms + self.extra_latency_ms
        timeout_ms = self.compute.timeout / 1e6
        timed_out = handler_ms > timeout_ms
        handler_ms = np.minimum(handler_ms, timeout_ms)
        adm = self.lam.admit(
            flow.start_ns.astype(np.float64), handler_ms * 1e6, self.cold_ms * 1e6, count=counted
        )
        cold_ms = np.where(adm.cold, self.cold_ms, 0.0)
        if adm.cold.any():
            out.hop(f"{self.spec.name} (cold start)")[flow.idx] += cold_ms
        self.timeouts += int((timed_out & ~adm.throttled & counted).sum())
        return (
            np.where(adm.throttled, 0.0, handler_ms),
            cold_ms,
            timed_out & ~adm.throttled,
            adm.throttled,
        )

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
