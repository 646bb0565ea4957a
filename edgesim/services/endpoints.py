"""Endpoints: the servers behind everything (origins, API back ends), with queueing.

An endpoint sits at a site (a region, Local Zone, Wavelength zone or Outpost), has a pool of
``servers`` and a service-time distribution, and answers requests after the network trip from
whoever calls it, the queueing delay of :mod:`edgesim.sim.queueing` and its service time.
An optional ``compute:`` block replaces the fixed ``servers`` with a compute model of
:mod:`edgesim.compute` (auto-scaled EC2 instances, an Elastic Beanstalk environment, ECS tasks on
EC2 or Fargate, or a Lambda function), and ``versions:`` with the ``deploy`` timeline action
shift traffic between versions CodeDeploy-style (docs/compute.md, docs/deployments.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    model_validator,
)

from edgesim.compute import lambdafn
from edgesim.compute.containers import TaskStart, task_start
from edgesim.compute.deploy import (
    AlarmRule,
    DeployConfigError,
    Deployment,
    parse_config,
    valid_period_ns,
)
from edgesim.compute.scaling import TargetTracking
from edgesim.errors import InputError, Problem
from edgesim.services.base import Service, Target
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.distributions import DurationDist
from edgesim.sim.queueing import ServerPool
from edgesim.topology.model import NodeKind
from edgesim.units import ByteSize, Duration, Fraction, format_duration_ns, parse_fraction

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

Dependency = Callable[[SimContext, Batch, Flow, Outcome, Bool], tuple[F64, Bool]]
"""A read a served request makes (see :attr:`EndpointTarget.dependencies`)."""

SITE_KINDS = (NodeKind.REGION, NodeKind.LOCAL_ZONE, NodeKind.WAVELENGTH_ZONE, NodeKind.OUTPOST)


NS = 1_000_000_000
VERSION_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Scaled(_Strict):
    """Auto-scaled units (instances or tasks) behind a load balancer."""

    min: int = Field(default=2, ge=1, le=100_000, description="MinSize / minimum tasks")
    max: int = Field(default=10, ge=1, le=100_000, description="MaxSize / maximum tasks")
    desired: int | None = Field(
        default=None, ge=1, le=100_000, description="units at the start (default: min)"
    )
    concurrency: int = Field(
        default=16, ge=1, le=100_000, description="requests each unit serves at once"
    )
    target_utilization: Fraction = Field(
        default=0.5, description="target tracking on average utilisation (CPU)"
    )
    target_requests: float | None = Field(
        default=None,
        gt=0,
        description="target tracking on requests per unit per minute instead "
        "(ALBRequestCountPerTarget)",
    )
    autoscaling: bool = Field(default=True, description="false: a fixed fleet of `desired`")
    scale_in_cooldown: Duration = Field(default="300s", validate_default=True)

    @model_validator(mode="after")
    def _sizes(self) -> _Scaled:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        if self.desired is not None and not self.min <= self.desired <= self.max:
            raise ValueError(
                f"desired ({self.desired}) must be between min ({self.min}) and max ({self.max})"
            )
        if self.target_utilization <= 0:
            raise ValueError("target_utilization must be above 0%")
        return self

    @property
    def start_units(self) -> int:
        return self.desired if self.desired is not None else self.min


class Ec2Compute(_Scaled):
    """EC2 instances in an Auto Scaling group behind a load balancer."""

    type: Literal["ec2"]
    warmup: Duration = Field(
        default="180s",
        validate_default=True,
        description="from a scale-out until the new instance serves (boot, app start, "
        "health checks)",
    )


class BeanstalkCompute(Ec2Compute):
    """An Elastic Beanstalk load-balanced environment (its Auto Scaling group: 1–4)."""

    type: Literal["beanstalk"]  # type: ignore[assignment]
    min: int = Field(default=1, ge=1, le=100_000)
    max: int = Field(default=4, ge=1, le=100_000)


class EcsCompute(_Scaled):
    """An ECS service: tasks on EC2 container instances or on Fargate."""

    type: Literal["ecs-ec2", "fargate"]
    min: int = Field(default=1, ge=1, le=100_000)
    concurrency: int = Field(default=8, ge=1, le=100_000)
    image_size: ByteSize = Field(
        default=200_000_000, description="compressed image size in ECR (e.g. 200MB)"
    )
    registry: str | None = Field(
        default=None, description="region of the ECR registry (default: the endpoint's)"
    )
    image_cached: bool = Field(
        default=False, description="ecs-ec2: the image is already on the instances"
    )
    provisioning: Duration | None = Field(
        default=None, description="capacity and network interface (default fargate 20s, ecs-ec2 2s)"
    )
    container_start: Duration = Field(default="5s", validate_default=True)
    health_check: Duration = Field(
        default="20s",
        validate_default=True,
        description="until the load balancer sees the task healthy",
    )

    @model_validator(mode="after")
    def _fargate(self) -> EcsCompute:
        if self.type == "fargate" and self.image_cached:
            raise ValueError("Fargate never caches images: every task pulls its image")
        return self


class LambdaCompute(_Strict):
    """A Lambda function: execution environments, cold starts, concurrency, throttling."""

    type: Literal["lambda"]
    runtime: str = Field(default="python3.12", description="e.g. nodejs20.x, java21, provided")
    memory: int = Field(default=128, description="MB, 128 … 10,240 (CPU scales with it)")
    concurrency: int = Field(
        default=lambdafn.DEFAULT_CONCURRENCY,
        ge=1,
        le=1_000_000,
        description="account limit or reserved concurrency; beyond it, 429",
    )
    provisioned: int = Field(default=0, ge=0, description="provisioned concurrency (always warm)")
    timeout: Duration = Field(default="3s", validate_default=True, description="at most 15m")
    init: Duration = Field(
        default="0s", validate_default=True, description="your own Init code on a cold start"
    )
    idle: Duration = Field(
        default="10m", validate_default=True, description="how long an idle environment lives"
    )
    cpu_bound: Fraction = Field(
        default=0.5, description="share of the handler's time (at 1 vCPU) that is CPU"
    )
    threads: int = Field(default=1, ge=1, le=6, description="vCPUs the handler can use")

    @model_validator(mode="after")
    def _limits(self) -> LambdaCompute:
        if lambdafn.runtime_family(self.runtime) is None:
            raise ValueError(
                f"unknown Lambda runtime '{self.runtime}'; expected one of "
                "nodejs…, python…, ruby…, java…, java…-snapstart, dotnet…, provided…, go, rust"
            )
        if not lambdafn.MIN_MEMORY_MB <= self.memory <= lambdafn.MAX_MEMORY_MB:
            raise ValueError(f"memory must be 128 to 10240 (MB, Lambda's range), got {self.memory}")
        if not NS <= self.timeout <= lambdafn.MAX_TIMEOUT_NS:
            raise ValueError(
                f"timeout must be 1s to 15m (Lambda's maximum), got "
                f"{format_duration_ns(self.timeout)}"
            )
        if self.provisioned > self.concurrency:
            raise ValueError(
                f"provisioned ({self.provisioned}) exceeds concurrency ({self.concurrency})"
            )
        if self.idle <= 0:
            raise ValueError("idle must be longer than 0s")
        return self


ComputeSpec = Annotated[
    Ec2Compute | BeanstalkCompute | EcsCompute | LambdaCompute, Field(discriminator="type")
]


class VersionSpec(_Strict):
    """How a version of the endpoint's code differs from the base one."""

    service_time_factor: float = Field(default=1.0, gt=0, le=1000)
    extra_latency: Duration = Field(default="0s", validate_default=True)
    error_rate: Fraction | None = Field(
        default=None, description="share answered with 500 (default: the endpoint's)"
    )


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
    compute: ComputeSpec | None = Field(
        default=None,
        description="a compute model instead of a fixed `servers` pool: ec2, beanstalk, "
        "ecs-ec2, fargate or lambda",
    )
    version: str = Field(
        default="v1", pattern=VERSION_NAME, description="name of the version serving at the start"
    )
    versions: dict[str, VersionSpec] = Field(
        default_factory=dict, description="other versions the `deploy` action can roll out"
    )

    @model_validator(mode="after")
    def _compute_and_versions(self) -> EndpointSpec:
        if self.compute is not None and "servers" in self.model_fields_set:
            raise ValueError(
                "servers and compute do not go together: the compute model sets the capacity "
                "(concurrency per instance or task, or Lambda's concurrency)"
            )
        if self.version in self.versions:
            raise ValueError(
                f"versions.{self.version}: '{self.version}' is the base version's name "
                "(`version`); give the other versions other names"
            )
        import re

        bad = [v for v in self.versions if not re.match(VERSION_NAME, v)]
        if bad:
            raise ValueError(f"versions: '{bad[0]}' is not a valid version name")
        return self


class EndpointsConfig(RootModel[list[EndpointSpec]]):
    """The ``endpoints:`` section: a list of endpoints."""


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
            rtt = self._check_compute(ctx, spec, site, f"endpoints[{i}].compute", problems)
            if rtt is None:
                continue
            self.items[spec.name] = EndpointTarget(spec, site, ctx, registry_rtt_ms=rtt)
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
    def _check_compute(
        ctx: SimContext, spec: EndpointSpec, site: str, where: str, problems: list[Problem]
    ) -> float | None:
        """Site rules of the compute model; the round trip (ms) to an ECS image registry.
        None after a problem."""
        c = spec.compute
        kind = ctx.world.nodes[site].kind
        regional = isinstance(c, LambdaCompute | EcsCompute) and c.type in ("lambda", "fargate")
        if regional and c is not None and kind != NodeKind.REGION:
            problems.append(
                Problem(
                    f"{c.type} runs in Regions only, not at '{spec.site}'",
                    path=f"{where}.type",
                    expected="a region:… site, or ec2 / ecs-ec2 for zones and Outposts",
                )
            )
            return None
        if not isinstance(c, EcsCompute):
            return 0.0
        node = ctx.world.nodes[site]
        home = site if kind == NodeKind.REGION else f"region:{getattr(node, 'parent', '')}"
        reg = home if c.registry is None else f"region:{c.registry.removeprefix('region:')}"
        if reg not in ctx.world.nodes:
            problems.append(
                Problem(
                    f"no region '{c.registry}' for the image registry",
                    path=f"{where}.registry",
                    expected="a region id of the world, e.g. us-east-1",
                )
            )
            return None
        one_way = ctx.site_one_way_ms(np.array([ctx.idx(reg)], dtype=np.int32), ctx.idx(site))
        return float(2.0 * one_way[0]) if np.isfinite(one_way[0]) else 1000.0

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
            if t.scaler is not None:
                t.scale(now_ns)

    def boundaries(self, duration_ns: int) -> list[int]:
        """Every 10 s when a compute model or versions are used: scaling periods and alarm
        periods (10 s, 30 s or whole minutes) then start and end on chunk edges."""
        if not any(t.compute is not None or t.spec.versions for t in self.items.values()):
            return []
        return list(range(10 * NS, duration_ns, 10 * NS))

    def begin(self, now_ns: int) -> None:
        for t in self.items.values():
            if t.scaler is not None and t.scaler.advance(now_ns):
                t._apply_capacity()
            dep = t.deployment
            if dep is None or dep.state != "in_progress":
                continue
            unhealthy = False
            if dep.check is not None:
                check = self._r53_checks().get(dep.check)
                unhealthy = check is not None and not bool(getattr(check, "healthy", True))
            what = dep.evaluate(now_ns, unhealthy)
            if what is None:
                continue
            detail = {"version": dep.to_version, "from": dep.from_version}
            self.ctx.log_event(now_ns, f"deploy_{what}", target=t.key, detail=detail)
            if what == "succeeded":
                t.current = dep.to_version
                t.deployment = None
            elif what == "rollback":
                t.deployment = None

    # ---- deployments -------------------------------------------------------------------
    actions: ClassVar[tuple[str, ...]] = ("deploy",)

    def _r53_checks(self) -> dict[str, Any]:
        for svc in self.ctx.services:
            checks = getattr(svc, "checks", None)
            if svc is not self and isinstance(checks, dict):
                return checks
        return {}

    def check_event(self, action: str, payload: Any) -> str | None:
        if action != "deploy":
            return None
        try:
            spec = DeploySpec.model_validate(payload)
        except ValidationError as exc:
            errs = exc.errors()
            # For `alarm`, report the branch the input was written for (a name or a mapping).
            alarm = payload.get("alarm") if isinstance(payload, dict) else None

            def member(x: object) -> bool:  # pydantic's name of a union member in a loc
                return x == "str" or "DeployAlarmSpec" in str(x)

            def other_branch(loc: tuple[int | str, ...]) -> bool:
                if len(loc) < 2 or loc[0] != "alarm" or not member(loc[1]):
                    return False
                return (loc[1] == "str") != isinstance(alarm, str)

            errs = [e for e in errs if not other_branch(e["loc"])] or errs
            err = errs[0]
            loc = [str(x) for x in err["loc"] if not member(x)]
            where = ".".join(loc)
            return (
                f"{where + ': ' if where else ''}{err['msg']}; deploy takes {{endpoint: NAME, "
                "version: NAME, config: Canary10Percent5Minutes, alarm: CHECK | {metric, above, "
                "periods, period}, rollback: true, bake: 0s}"
            )
        target = self.items.get(spec.endpoint.removeprefix("endpoint:"))
        if target is None:
            return f"no endpoint named '{spec.endpoint}'; expected one of: " + ", ".join(
                sorted(self.items)
            )
        if not target.spec.versions:
            return (
                f"endpoint '{target.spec.name}' has no versions to deploy; add "
                f"versions: {{{spec.version}: {{…}}}} to it"
            )
        if spec.version not in target.version_params:
            return f"endpoint '{target.spec.name}' has no version '{spec.version}'; expected " + (
                "one of: " + ", ".join(sorted(target.version_params))
            )
        try:
            parse_config(spec.config)
        except DeployConfigError as exc:
            return str(exc)
        if isinstance(spec.alarm, str) and spec.alarm not in self._r53_checks():
            known = sorted(self._r53_checks())
            return f"no Route 53 health check named '{spec.alarm}'" + (
                f"; expected one of: {', '.join(known)}" if known else " (no route53 section)"
            )
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        if action != "deploy":
            return
        spec = DeploySpec.model_validate(payload)
        t = self.items[spec.endpoint.removeprefix("endpoint:")]
        dep = t.deployment
        if dep is not None and dep.state == "in_progress":
            self.ctx.log_event(
                at_ns, "deploy_refused", target=t.key, note="a deployment is in progress"
            )
            return
        if spec.version == t.current:
            self.ctx.log_event(
                at_ns, "deploy_refused", target=t.key, note=f"{spec.version} is already serving"
            )
            return
        rule = None
        if isinstance(spec.alarm, DeployAlarmSpec):
            rule = AlarmRule(
                spec.alarm.metric, spec.alarm.above, spec.alarm.periods, spec.alarm.period
            )
        t.deployment = Deployment(
            endpoint=t.spec.name,
            from_version=t.current,
            to_version=spec.version,
            shift=parse_config(spec.config),
            start_ns=at_ns,
            n_groups=len(self.ctx.groups),
            rollback=spec.rollback,
            bake_ns=spec.bake,
            rule=rule,
            check=spec.alarm if isinstance(spec.alarm, str) else None,
        )
        t.deployments.append(t.deployment)

    def fail(self, what: str, up: bool, at_ns: int) -> bool:
        if what.startswith("endpoint:") and what[9:] in self.items:
            self.items[what[9:]].up = up
            return True
        if what.startswith("az:"):
            hit = [t.set_az(what[3:], up) for t in self.items.values()]
            return any(hit)
        return False

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        names = self.ctx.group_names()
        for name, t in sorted(self.items.items()):
            entry: dict[str, Any] = {
                "site": t.site_key,
                "requests": t.requests,
                "errors": t.errors,
                "servers": t.spec.servers,
                "backlog": round(t.pool.backlog, 3),
            }
            if t.compute is not None:
                entry["servers"] = t.pool.servers if t.lam is None else t.compute.concurrency
                entry["compute"] = _compute_report(t)
            if t.spec.versions:
                entry["version"] = t.current
                base = t.version_params[t.spec.version].error_rate
                entry["deployments"] = [d.report(names, base) for d in t.deployments]
            out[name] = entry
        return out

    assertion_kinds: ClassVar[dict[str, str]] = {
        "cold_starts": "count",
        "throttles": "count",
        "exposure": "count",
        "rollbacks": "count",
    }

    def _named(self, endpoint: str) -> EndpointTarget:
        t = self.items.get(endpoint.removeprefix("endpoint:"))
        if t is None:
            raise KeyError(f"no endpoint '{endpoint}'")
        return t

    def assertion_metrics(self) -> dict[str, Callable[..., float]]:
        def cold_starts(endpoint: str) -> float:
            lam = self._named(endpoint).lam
            return float(lam.cold_starts) if lam is not None else 0.0

        def throttles(endpoint: str) -> float:
            lam = self._named(endpoint).lam
            return float(lam.throttled) if lam is not None else 0.0

        def exposure(endpoint: str, version: str | None = None, group: str | None = None) -> float:
            t = self._named(endpoint)
            if version is not None and version not in t.version_params:
                raise KeyError(f"endpoint '{t.spec.name}' has no version '{version}'")
            deps = [d for d in t.deployments if version is None or d.to_version == version]
            if group is None:
                return float(sum(d.requests for d in deps))
            names = self.ctx.group_names()
            sel = [i for i, n in enumerate(names) if n == group or n.endswith("/" + group)]
            return float(sum(int(d.group_requests[sel].sum()) for d in deps))

        def rollbacks(endpoint: str) -> float:
            return float(sum(d.state == "rolled_back" for d in self._named(endpoint).deployments))

        return {
            "cold_starts": cold_starts,
            "throttles": throttles,
            "exposure": exposure,
            "rollbacks": rollbacks,
        }


def _number_or_percent(value: Any) -> Any:
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_fraction(value)
    return value


class DeployAlarmSpec(_Strict):
    """A deployment's own alarm on the new version's requests."""

    metric: Literal["error_rate", "p99_ms"]
    above: Annotated[float, BeforeValidator(_number_or_percent)] = Field(
        ge=0, description="threshold: a share (2% or 0.02) for error_rate, ms for p99_ms"
    )
    periods: int = Field(default=1, ge=1, le=100, description="breaching periods in a row")
    period: Duration = Field(default="60s", validate_default=True)

    @model_validator(mode="after")
    def _period(self) -> DeployAlarmSpec:
        if not valid_period_ns(self.period):
            raise ValueError(
                f"period {format_duration_ns(self.period)} is not a CloudWatch alarm period; "
                "expected 10s, 30s or whole minutes"
            )
        return self


class DeploySpec(_Strict):
    """The ``deploy`` timeline action."""

    endpoint: str
    version: str
    config: str = "AllAtOnce"
    alarm: str | DeployAlarmSpec | None = None
    rollback: bool = True
    bake: Duration = Field(default="0s", validate_default=True)


def _compute_report(t: EndpointTarget) -> dict[str, Any]:
    c = t.compute
    assert c is not None
    if t.lam is not None and isinstance(c, LambdaCompute):
        lam = t.lam
        return {
            "type": "lambda",
            "runtime": c.runtime,
            "memory_mb": c.memory,
            "concurrency_limit": c.concurrency,
            "cold_start_ms": round(t.cold_ms, 3),
            "cpu_factor": round(t.lambda_factor, 6),
            "cold_starts": lam.cold_starts,
            "throttled": lam.throttled,
            "timeouts": t.timeouts,
            "peak_concurrency": lam.peak_concurrency,
            "environments_at_end": lam.envs,
        }
    sc = t.scaler
    assert sc is not None
    out: dict[str, Any] = {
        "type": c.type,
        "units_at_start": getattr(c, "start_units", 0),
        "units_at_end": sc.in_service,
        "units_peak": sc.peak,
        "concurrency_per_unit": t.per_unit,
        "scale_delay_s": round(sc.delay_ns / NS, 3),
        "scaling": [
            {
                "at_s": e.at_ns / NS,
                "from": e.desired_from,
                "to": e.desired_to,
                "metric": round(e.metric, 6),
            }
            for e in sc.events
        ],
    }
    if t.task is not None:
        out["task_start"] = t.task.as_dict()
    return out


def _site_azs(ctx: SimContext, site: str) -> tuple[str, ...]:
    try:
        key = ctx.world.resolve(site, SITE_KINDS)
    except InputError:
        return ()
    node = ctx.world.nodes[key]
    region = ctx.world.nodes.get(f"region:{getattr(node, 'parent', '')}", node)
    return tuple(getattr(region, "azs", ()))


SERVICES = (Endpoints,)
