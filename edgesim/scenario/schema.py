"""The scenario file format (``edgesim: 1``): the engine's part.

Service sections (``route53``, ``cloudfront``, ``endpoints`` …) are contributed by the modules
in :mod:`edgesim.services`; :func:`scenario_model` assembles the full model from them, so adding
a service never means editing this file.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from edgesim.latency.params import AccessKind
from edgesim.sim.distributions import PopularitySpec, SizeDist
from edgesim.topology.schema import ClientGroupSpec, LatencyOverrides, ResolverKind
from edgesim.units import Duration, Fraction

ENGINE_ACTIONS = ("fail", "recover", "degrade", "restore", "flash_crowd")

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", min_length=1, max_length=80)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WorldOverrides(Strict):
    """Changes to the world for this scenario only."""

    latency: LatencyOverrides | None = None
    client_groups: list[ClientGroupSpec] = Field(
        default_factory=list, description="extra client groups added to the world"
    )


class DiurnalProfile(Strict):
    """Request rate follows each metro's local time: a cosine between trough and peak."""

    peak_hour: float = Field(default=20.0, ge=0, lt=24, description="local hour of the peak")
    trough_ratio: float = Field(
        default=0.25, gt=0, le=1, description="rate at the trough / rate at the peak"
    )


class ClientSpec(Strict):
    """A set of users: which metros, how many requests, on which networks."""

    name: Name | None = Field(default=None, description="label for reports (a segment)")
    metros: (
        Literal["all"]
        | Annotated[str, Field(pattern=r"^top-[0-9]+$")]
        | Annotated[list[Name], Field(min_length=1)]
    ) = Field(description="top-N by population, all, or a list of client group ids")
    requests_per_second: float = Field(
        gt=0, le=10_000_000, allow_inf_nan=False, description="mean rate across the selection"
    )
    profile: Literal["flat", "diurnal"] | DiurnalProfile = "flat"
    access: AccessKind | dict[AccessKind, float] | None = Field(
        default=None, description="access mix (default: each metro's own access)"
    )
    resolvers: ResolverKind | dict[ResolverKind, float] | None = Field(
        default=None, description="resolver mix (default: each metro's own resolver kind)"
    )
    workloads: list[Name] | None = Field(
        default=None, description="workloads these users send (default: all, by share)"
    )

    @field_validator("access", "resolvers")
    @classmethod
    def _mix(cls, v: Any) -> Any:
        if isinstance(v, dict):
            vals = [float(x) for x in v.values()]
            if any(not math.isfinite(x) or x < 0 for x in vals) or sum(vals) <= 0:
                raise ValueError("shares must be finite, non-negative and not all zero")
        return v

    @field_validator("metros", mode="before")
    @classmethod
    def _some(cls, v: Any) -> Any:
        if isinstance(v, list) and not v:
            raise ValueError("name at least one metro (or top-N, or all)")
        return v

    @field_validator("metros")
    @classmethod
    def _unique(cls, v: Any) -> Any:
        if isinstance(v, list) and len(set(v)) != len(v):
            dup = next(x for x in v if v.count(x) > 1)
            raise ValueError(f"'{dup}' is listed twice")
        return v


class ObjectsSpec(Strict):
    """A catalogue of cacheable objects."""

    count: int = Field(ge=1, le=100_000_000)
    popularity: PopularitySpec = Field(default="zipf(0.9)", validate_default=True)
    size: SizeDist = Field(default="lognormal(median=40KB, sigma=1.2)", validate_default=True)


class TrackingQuerySpec(Strict):
    """A share of requests carrying a tracking query string (``?utm_source=N``)."""

    share: Fraction
    name: str = Field(default="utm_source", pattern=r"^[A-Za-z0-9_.-]+$")
    values: int = Field(default=100, ge=1, le=1_000_000, description="distinct values")


class SessionCookieSpec(Strict):
    """A share of requests carrying a session cookie (``Cookie: session=N``)."""

    share: Fraction
    name: str = Field(default="session", pattern=r"^[A-Za-z0-9_.-]+$")
    sessions: int = Field(default=1000, ge=1, le=1_000_000, description="distinct sessions")


class VarietySpec(Strict):
    """What varies between requests for the same object (CloudFront cache keys)."""

    tracking_query: TrackingQuerySpec | None = None
    accept_language: dict[str, float] | None = Field(
        default=None, description="Accept-Language values and their shares, e.g. {en: 0.7}"
    )
    session_cookie: SessionCookieSpec | None = None

    @model_validator(mode="after")
    def _shares(self) -> VarietySpec:
        if self.accept_language is not None:
            if not self.accept_language or any(v < 0 for v in self.accept_language.values()):
                raise ValueError("accept_language needs values with shares >= 0")
            if sum(self.accept_language.values()) <= 0:
                raise ValueError("accept_language shares must not all be 0")
        return self


class WorkloadSpec(Strict):
    """What users ask for: static objects, dynamic API calls or uploads."""

    name: Name
    host: str = Field(description="DNS name users look up")
    target: str | None = Field(
        default=None,
        description="service target for a host no DNS zone answers, e.g. endpoint:api or "
        "cloudfront:site",
    )
    share: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="share of requests"
    )
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE"] = "GET"
    objects: ObjectsSpec | None = None
    size: SizeDist | None = Field(default=None, description="response size for dynamic calls")
    upload_size: SizeDist | None = Field(default=None, description="request body for uploads")
    cache_control: str | None = Field(default=None, description="origin's Cache-Control")
    path_prefix: str = Field(default="/", description="URL path of the objects")
    connection_reuse: Fraction = Field(
        default=0.6, description="share of requests sent on an already open connection"
    )
    tls: Literal["1.3", "1.2", "none"] = "1.3"
    variety: VarietySpec | None = Field(
        default=None,
        description="query strings, Accept-Language and cookies the requests carry (they "
        "enter CloudFront cache keys as the cache policy says)",
    )

    @model_validator(mode="after")
    def _kind(self) -> WorkloadSpec:
        if self.objects is None and self.size is None and self.upload_size is None:
            raise ValueError("a workload needs objects (a catalogue), size or upload_size")
        return self


class DegradeSpec(Strict):
    link: str = Field(description="a-b where a and b are node names, e.g. hub:LON-hub:BUDE")
    link_class: Literal["internet", "backbone", "carrier5g", "service_link", "lan"] | None = Field(
        default=None, alias="class", description="default: every class the link has"
    )
    add: Duration | None = Field(default=None, description="extra one-way delay, e.g. 20ms")
    loss: Fraction | None = None


class FlashCrowdSpec(Strict):
    factor: float = Field(gt=0, le=1000, description="multiply the request rate by this")
    duration: Duration
    metros: list[Name] | None = Field(default=None, description="default: every client group")


class EventSpec(Strict):
    """Something that happens at a moment of the run. Exactly one action per event."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    at: Duration
    fail: str | None = None
    recover: str | None = None
    degrade: DegradeSpec | None = None
    restore: str | None = None
    flash_crowd: FlashCrowdSpec | None = None
    note: str = ""


class DnsSpec(Strict):
    """How users' software and resolvers treat DNS answers."""

    stub_cache: Fraction = Field(
        default=0.5, description="share of new connections whose OS/browser has the name"
    )
    overstay_share: Fraction = Field(
        default=0.0, description="share of users whose software keeps answers past the TTL"
    )
    overstay: Duration = Field(default="5m", validate_default=True, description="for how long")
    negative_ttl: Duration = Field(
        default="15m", validate_default=True, description="how long a resolver keeps no-answer"
    )
    start: Literal["steady", "cold"] = Field(
        default="steady",
        description="steady: resolvers start with names cached, remaining TTLs spread uniformly"
        " (a long-running population); cold: caches start empty and fill at the run's start",
    )
    client_subnets: dict[str, str] = Field(
        default_factory=dict,
        description="client group -> its users' subnet (e.g. 203.0.113.0/24), sent as ECS and "
        "matched by IP-based routing; default 10.(i // 256).(i % 256).0/24 for group i",
    )


class ScenarioBase(Strict):
    edgesim: Literal[1] = Field(description="format version")
    name: str
    description: str = ""
    world: str = Field(default="aws-world", description="built-in world or a topology file")
    world_overrides: WorldOverrides | None = None
    seed: int = Field(default=1, ge=0, lt=2**63)
    start: datetime = Field(
        default=datetime(2026, 1, 15, 0, 0, tzinfo=UTC),
        description="wall-clock time the run starts at (sets each metro's local time)",
    )
    duration: Duration
    interval: Duration = Field(default="1m", validate_default=True, description="time series step")
    warmup: Duration = Field(
        default="0s", validate_default=True, description="excluded from metrics (caches warm up)"
    )
    clients: list[ClientSpec] = Field(min_length=1)
    workloads: list[WorkloadSpec] = Field(min_length=1)
    dns: DnsSpec = Field(default_factory=DnsSpec)
    timeline: list[EventSpec] = Field(default_factory=list)
    assertions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> ScenarioBase:
        names = [c.name for c in self.clients if c.name is not None]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise ValueError(f"two clients entries are named '{dup}'")
        return self

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return v if v.tzinfo is not None else v.replace(tzinfo=UTC)

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: int) -> int:
        if not 1_000_000_000 <= v <= 3600 * 1_000_000_000:
            raise ValueError("interval must be between 1s and 1h")
        return v


@cache
def scenario_model() -> type[ScenarioBase]:
    """The full scenario model: the base plus one optional section per registered service."""
    from edgesim.services import registry

    fields: dict[str, Any] = {}
    for svc in registry():
        fields[svc.section] = (
            svc.config_model | None,
            Field(default=None, description=svc.summary),
        )
    model: type[ScenarioBase] = create_model("Scenario", __base__=ScenarioBase, **fields)
    return model
