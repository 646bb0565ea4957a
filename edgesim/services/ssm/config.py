"""The ``ssm:`` scenario section: managed fleets, maintenance windows and their tasks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from edgesim.services.ssm.documents import DocumentSpec
from edgesim.services.ssm.rate import Rate, parse_rate
from edgesim.sim.distributions import DurationDist
from edgesim.units import Duration, Fraction

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _concurrency(v: Any) -> Rate:
    if isinstance(v, Rate):
        return v
    r = parse_rate(v, "max_concurrency")
    if r.value == 0:
        raise ValueError("max_concurrency must be at least 1 (or 1%): 0 would run nothing")
    return r


def _errors(v: Any) -> Rate:
    return v if isinstance(v, Rate) else parse_rate(v, "max_errors")


_RATE_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "examples": ["10%"]}]}
)
Concurrency = Annotated[
    Rate, BeforeValidator(_concurrency), PlainSerializer(str, return_type=str), _RATE_SCHEMA
]
Errors = Annotated[
    Rate, BeforeValidator(_errors), PlainSerializer(str, return_type=str), _RATE_SCHEMA
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class FleetSpec(_Strict):
    """The managed nodes (EC2 instances running the SSM Agent) behind one endpoint."""

    endpoint: str = Field(description="the endpoint whose servers run on these instances")
    instances: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="instances the endpoint's `servers` are spread over (required for an "
        "endpoint without a compute model; EC2, Beanstalk and ECS-on-EC2 endpoints use their "
        "instances or tasks)",
    )
    tags: dict[str, str] = Field(default_factory=dict, description="tags targets can select")


class PatchTaskSpec(_Strict):
    """A maintenance window task running AWS-RunPatchBaseline (Operation=Install)."""

    name: str = Field(pattern=NAME)
    type: Literal["patch"] = "patch"
    targets: list[str] = Field(
        min_length=1, description="endpoint:NAME, region:ID or tag:Key=Value"
    )
    max_concurrency: Concurrency = Field(description="a number (2) or a percentage (10%)")
    max_errors: Errors = Field(
        default=Rate(0, False), description="errors allowed before the task stops (0: the first)"
    )
    priority: int = Field(default=1, ge=0, le=1_000_000, description="lower runs first")
    cutoff_behavior: Literal["CONTINUE_TASK", "CANCEL_TASK"] = "CONTINUE_TASK"
    install_time: DurationDist = Field(
        default="lognormal(median=6m, sigma=0.5)",
        validate_default=True,
        description="scan, download and install the missing patches",
    )
    reboot_option: Literal["RebootIfNeeded", "NoReboot"] = "RebootIfNeeded"
    reboot_time: DurationDist = Field(
        default="lognormal(median=2m, sigma=0.3)",
        validate_default=True,
        description="reboot until the load balancer sees the instance healthy again",
    )
    failure_rate: Fraction = Field(default=0.0, description="chance the install fails")
    on_failure: Literal["back_in_service", "out_of_service"] = Field(
        default="back_in_service",
        description="a failed instance returns unpatched, or stays out until the run ends",
    )
    timeout: Duration = Field(
        default="2h",
        validate_default=True,
        description="execution timeout: a longer run is TimedOut (counts as an error)",
    )


TaskSpec = PatchTaskSpec


class WindowSpec(_Strict):
    """A maintenance window: when it opens, for how long, and its tasks."""

    name: str = Field(pattern=NAME)
    schedule: str | None = Field(
        default=None,
        description="cron(0 2 ? * TUE#2 *), rate(1 day) or at(…); none: only the "
        "run_maintenance_window timeline action opens it",
    )
    timezone: str = Field(default="UTC", description="ScheduleTimezone (IANA)")
    duration: Duration = Field(description="how long the window is open (AWS: 1h to 24h)")
    cutoff: Duration = Field(
        default="0s",
        validate_default=True,
        description="no task starts in the last `cutoff` of the window (AWS: 0h to 23h)",
    )
    tasks: list[TaskSpec] = Field(min_length=1)


class SsmConfig(_Strict):
    """The ``ssm:`` section."""

    fleets: list[FleetSpec] = Field(default_factory=list)
    maintenance_windows: list[WindowSpec] = Field(default_factory=list)
    documents: list[DocumentSpec] = Field(
        default_factory=list, description="Run Command documents for the send_command action"
    )
    parameter_store: ParameterStoreSection | None = None
    appconfig: AppConfigSpec | None = None


class SendCommandSpec(_Strict):
    """The ``send_command`` timeline action (and control-API event): Run Command."""

    document: str
    targets: list[str] = Field(min_length=1, description="endpoint:…, region:…, tag:Key=Value")
    parameters: dict[str, Any] = Field(default_factory=dict)
    max_concurrency: Concurrency = Field(default=Rate(50, False), validate_default=True)
    max_errors: Errors = Field(default=Rate(0, False), validate_default=True)
    timeout: Duration = Field(
        default="1h", validate_default=True, description="execution timeout per target"
    )
    failure_rate: Fraction = Field(
        default=0.0, description="chance an invocation fails at its first step"
    )


class ParameterSpec(_Strict):
    """A Parameter Store parameter."""

    name: str = Field(pattern=r"^/?[A-Za-z0-9_.\-/]+$")
    tier: Literal["Standard", "Advanced", "Intelligent-Tiering"] = "Standard"
    type: Literal["String", "StringList", "SecureString"] = "String"
    regions: list[str] = Field(
        default_factory=list, description="Regions holding it (default: every Region)"
    )


class ParameterStoreSpec(_Strict):
    """Parameter Store's throughput setting and read latency."""

    throughput: Literal["standard", "higher"] = Field(
        default="standard", description="the account's setting in every Region"
    )
    tps: float | None = Field(
        default=None, gt=0, description="override the GetParameter(s) quota (per Region)"
    )
    service_time: DurationDist = Field(
        default="lognormal(median=6ms, sigma=0.4)",
        validate_default=True,
        description="Parameter Store's own time per read, network excluded",
    )


class DependencySpec(_Strict):
    """An endpoint reading parameters on its request path."""

    endpoint: str
    parameters: list[str] = Field(min_length=1)
    cache_ttl: Duration = Field(
        default="0s",
        validate_default=True,
        description="client-side cache per instance; 0s: every request reads",
    )
    region: str | None = Field(
        default=None, description="the Systems Manager endpoint's Region (default: nearest)"
    )


class StrategySpec(_Strict):
    """An AppConfig deployment strategy."""

    name: str = Field(pattern=NAME)
    growth_type: Literal["LINEAR", "EXPONENTIAL"] = "LINEAR"
    growth_factor: float = Field(gt=0, le=100, description="percent")
    deployment_duration: Duration = Field(description="0m … 24h")
    final_bake_time: Duration = Field(default="0s", validate_default=True)


class AppConfigApplication(_Strict):
    name: str = Field(pattern=NAME)
    environments: list[str] = Field(min_length=1)
    profiles: list[str] = Field(min_length=1)
    endpoints: list[str] = Field(
        min_length=1, description="endpoints whose instances run the AppConfig agent"
    )


class AppConfigSpec(_Strict):
    applications: list[AppConfigApplication] = Field(default_factory=list)
    strategies: list[StrategySpec] = Field(default_factory=list)


class ParameterStoreSection(_Strict):
    """``ssm.parameter_store``."""

    settings: ParameterStoreSpec = Field(default_factory=ParameterStoreSpec)
    parameters: list[ParameterSpec] = Field(default_factory=list)
    reads: list[DependencySpec] = Field(default_factory=list)


SsmConfig.model_rebuild()
