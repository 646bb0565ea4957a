"""The topology file format (``edgesim: 1``), validated by pydantic and exported as JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edgesim.latency.params import AccessKind, AccessProfile

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", min_length=1, max_length=80)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Lat = Annotated[float, Field(ge=-90.0, le=90.0, description="latitude, decimal degrees")]
Lon = Annotated[float, Field(ge=-180.0, le=180.0, description="longitude, decimal degrees")]
ResolverKind = Literal["isp", "public-ecs", "public-no-ecs"]
LinkClassName = Literal["internet", "backbone", "carrier5g", "service_link", "lan"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CarrierSpec(_Strict):
    id: Id
    name: str = ""
    country: CountryCode


class HubSpec(_Strict):
    """A fibre junction: a metro interconnection point or a cable landing station."""

    id: Id
    name: str = ""
    lat: Lat
    lon: Lon


class CorridorSpec(_Strict):
    """Long-haul fibre between two hubs; the AWS backbone and public transit both run on it."""

    a: Id
    b: Id
    kind: Literal["terrestrial", "submarine"]
    route_factor: float | None = Field(
        default=None, ge=1.0, le=5.0, description="route length / great-circle length"
    )
    backbone: bool = Field(
        default=True,
        description="whether the AWS backbone runs on this corridor (false: public transit only)",
    )
    note: str = ""


class RegionSpec(_Strict):
    code: Id
    city: str
    country: CountryCode
    lat: Lat
    lon: Lon
    azs: list[Id] = Field(default_factory=list)
    ingress_one_way_ms: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="this site's own border/front-end cost, one way (default: the latency"
        " section's region_ingress_one_way_ms or pop_ingress_one_way_ms); set by edgesim"
        " calibrate",
    )


class EdgeLocationSpec(_Strict):
    id: Id
    city: str
    country: CountryCode
    lat: Lat
    lon: Lon
    tier: Literal["edge", "regional"] = "edge"
    price_class_region: str = ""
    ingress_one_way_ms: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="this site's own border/front-end cost, one way (default: the latency"
        " section's region_ingress_one_way_ms or pop_ingress_one_way_ms); set by edgesim"
        " calibrate",
    )


class LocalZoneSpec(_Strict):
    code: Id
    city: str
    country: CountryCode
    lat: Lat
    lon: Lon
    parent: Id


class WavelengthZoneSpec(_Strict):
    code: Id
    city: str
    country: CountryCode
    lat: Lat
    lon: Lon
    parent: Id
    carrier: Id


class OutpostSpec(_Strict):
    id: Id
    parent: Id
    site: str
    lat: Lat
    lon: Lon


class ClientGroupSpec(_Strict):
    id: Id
    metro: str
    country: CountryCode
    lat: Lat
    lon: Lon
    population: int = Field(ge=0)
    access: AccessKind = "cable"
    carrier: Id | None = None
    resolver: ResolverKind = "isp"
    timezone: str = "UTC"


class ResolverSpec(_Strict):
    id: Id
    city: str = ""
    country: CountryCode | None = None
    lat: Lat
    lon: Lon
    kind: ResolverKind


class LinkSpec(_Strict):
    """An explicit link between two nodes, named ``kind:id`` (e.g. ``outpost:plant-1``)."""

    a: str
    b: str
    link_class: LinkClassName = Field(alias="class")
    one_way_ms: float | None = Field(default=None, ge=0)


class LatencyOverrides(_Strict):
    """Any constant of the latency model (see docs/latency-model.md); unset ones keep defaults."""

    fibre_km_per_ms: float | None = Field(
        default=None, gt=0, le=299.792458, description="no faster than light in vacuum"
    )
    terrestrial_route_factor: float | None = Field(default=None, ge=1.0)
    submarine_route_factor: float | None = Field(default=None, ge=1.0)
    backbone_hop_one_way_ms: float | None = Field(default=None, ge=0)
    region_ingress_one_way_ms: float | None = Field(default=None, ge=0)
    intra_region_rtt_ms: float | None = Field(default=None, ge=0)
    internet_route_factor: float | None = Field(default=None, ge=1.0)
    internet_hop_one_way_ms: float | None = Field(default=None, ge=0)
    metro_route_factor: float | None = Field(default=None, ge=1.0)
    pop_ingress_one_way_ms: float | None = Field(default=None, ge=0)
    attach_hubs: int | None = Field(default=None, ge=1, le=4)
    attach_slack_km: float | None = Field(default=None, ge=0)
    carrier_route_factor: float | None = Field(default=None, ge=1.0)
    carrier_core_one_way_ms: float | None = Field(default=None, ge=0)
    service_link_one_way_ms: float | None = Field(default=None, ge=0)
    lan_one_way_ms: float | None = Field(default=None, ge=0)
    jitter_shape: float | None = Field(default=None, gt=0)
    path_jitter_fraction: float | None = Field(default=None, ge=0)
    backbone_loss_per_hop: float | None = Field(default=None, ge=0, le=1)
    internet_loss_per_hop: float | None = Field(default=None, ge=0, le=1)
    access: dict[AccessKind, AccessProfile] | None = None
    country_extra_rtt_ms: dict[CountryCode, Annotated[float, Field(ge=0, le=1000)]] | None = None

    def as_updates(self) -> dict[str, Any]:
        out = {k: v for k, v in self.model_dump(exclude_none=True).items() if k != "access"}
        if "country_extra_rtt_ms" in out:  # merged into the defaults, not replacing them
            from edgesim.latency.access_data import country_extra_rtt_ms

            out["country_extra_rtt_ms"] = {**country_extra_rtt_ms(), **out["country_extra_rtt_ms"]}
        return out


class TopologyFile(_Strict):
    """A world: hubs and corridors (the fibre), AWS sites, and the users."""

    edgesim: Literal[1] = Field(description="format version")
    name: str
    description: str = ""
    latency: LatencyOverrides | None = None
    carriers: list[CarrierSpec] = Field(default_factory=list)
    hubs: list[HubSpec] = Field(min_length=1)
    corridors: list[CorridorSpec] = Field(default_factory=list)
    regions: list[RegionSpec] = Field(default_factory=list)
    edge_locations: list[EdgeLocationSpec] = Field(default_factory=list)
    local_zones: list[LocalZoneSpec] = Field(default_factory=list)
    wavelength_zones: list[WavelengthZoneSpec] = Field(default_factory=list)
    outposts: list[OutpostSpec] = Field(default_factory=list)
    client_groups: list[ClientGroupSpec] = Field(default_factory=list)
    resolvers: list[ResolverSpec] = Field(default_factory=list)
    links: list[LinkSpec] = Field(default_factory=list)
