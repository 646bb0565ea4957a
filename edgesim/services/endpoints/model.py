"""The ``endpoints:`` section of a scenario: each endpoint's site, servers, service time,
compute model (EC2, Beanstalk, ECS, Lambda), versions and deployment (no behaviour here)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    model_validator,
)

from edgesim.compute import lambdafn
from edgesim.compute.deploy import (
    valid_period_ns,
)
from edgesim.sim.distributions import DurationDist
from edgesim.topology.model import NodeKind
from edgesim.units import ByteSize, Duration, Fraction, format_duration_ns, parse_fraction

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

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
