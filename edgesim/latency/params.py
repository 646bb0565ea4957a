"""Latency model constants, with where each comes from.

Every name says its unit and whether it is one-way or round trip.  The defaults are chosen from
physics and published figures (see docs/latency-model.md) and then tuned against the measured
inter-region matrix in the calibration set (``scripts/calibrate.py``); a topology file may
override any of them in its ``latency:`` section.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AccessKind = Literal["fibre", "cable", "dsl", "4g", "5g"]
ACCESS_KINDS: tuple[AccessKind, ...] = ("fibre", "cable", "dsl", "4g", "5g")

#: Speed of light in vacuum, km per millisecond.
C_VACUUM_KM_PER_MS = 299.792458
#: Group index of standard single-mode fibre (ITU-T G.652) at 1550 nm, about 1.468.
FIBRE_REFRACTIVE_INDEX = 1.468
#: Light in fibre, km per millisecond (one way): ~204 km/ms, i.e. ~1 ms RTT per 100 km.
FIBRE_KM_PER_MS = C_VACUUM_KM_PER_MS / FIBRE_REFRACTIVE_INDEX


class AccessProfile(BaseModel):
    """The last mile of one access technology."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rtt_ms: float = Field(
        ge=0, description="added round trip between the user and the first IP hop"
    )
    jitter_mean_ms: float = Field(ge=0, description="mean of the Gamma-distributed extra RTT")
    loss: float = Field(ge=0, le=1, description="packet loss probability on the last mile")
    down_mbps: float = Field(gt=0, description="downlink bandwidth")
    up_mbps: float = Field(gt=0, description="uplink bandwidth")


def _default_access() -> dict[str, AccessProfile]:
    # Round-trip figures within the ranges of the FCC's Measuring Broadband America reports
    # (idle latency for fixed lines, Opensignal/Ookla medians for mobile); bandwidths are
    # typical plan speeds. All configurable.
    return {
        "fibre": AccessProfile(
            rtt_ms=3.0, jitter_mean_ms=0.5, loss=0.0002, down_mbps=500, up_mbps=250
        ),
        "cable": AccessProfile(
            rtt_ms=10.0, jitter_mean_ms=2.0, loss=0.0005, down_mbps=300, up_mbps=20
        ),
        "dsl": AccessProfile(rtt_ms=20.0, jitter_mean_ms=3.0, loss=0.001, down_mbps=40, up_mbps=8),
        "4g": AccessProfile(rtt_ms=45.0, jitter_mean_ms=12.0, loss=0.005, down_mbps=30, up_mbps=8),
        "5g": AccessProfile(rtt_ms=15.0, jitter_mean_ms=4.0, loss=0.002, down_mbps=200, up_mbps=30),
    }


def _default_country_extra() -> dict[str, float]:
    from edgesim.latency.access_data import country_extra_rtt_ms

    return country_extra_rtt_ms()


class LatencyParams(BaseModel):
    """All constants of the latency model. One-way unless the name says ``rtt``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fibre_km_per_ms: float = Field(
        default=FIBRE_KM_PER_MS, gt=0, le=C_VACUUM_KM_PER_MS, description="propagation speed"
    )
    # --- AWS backbone (fitted on the calibration matrix, see docs/latency-model.md) ---
    terrestrial_route_factor: float = Field(
        default=1.1681,
        ge=1.0,
        description="fibre route length / great-circle length, land corridors",
    )
    submarine_route_factor: float = Field(
        default=1.2264,
        ge=1.0,
        description="cable length / great-circle length, submarine corridors",
    )
    backbone_hop_one_way_ms: float = Field(
        default=0.7046, ge=0, description="switching and regeneration per backbone corridor"
    )
    region_ingress_one_way_ms: float = Field(
        default=1.6165, ge=0, description="region border, AZ fabric and service front end, per end"
    )
    intra_region_rtt_ms: float = Field(
        default=3.18, ge=0, description="round trip between two endpoints in one region"
    )
    # --- public internet ---
    internet_route_factor: float = Field(
        default=1.2,
        ge=1.0,
        description="extra length of transit routes over the same corridors (peering detours)",
    )
    internet_hop_one_way_ms: float = Field(
        default=0.8, ge=0, description="routers, IX crossings and queues per internet corridor"
    )
    metro_route_factor: float = Field(
        default=1.6,
        ge=1.0,
        description="stretch of the regional network from a user or site to its hub",
    )
    pop_ingress_one_way_ms: float = Field(
        default=0.2, ge=0, description="edge location border and load balancer, per end"
    )
    attach_hubs: int = Field(
        default=1,
        ge=1,
        le=4,
        description="hubs each site attaches to (more than 1 lets a site bridge two hubs, which"
        " breaks the triangle inequality of backbone paths)",
    )
    attach_slack_km: float = Field(
        default=400.0, ge=0, description="further hubs attach only within nearest + this distance"
    )
    # --- carrier 5G and on-premises ---
    carrier_route_factor: float = Field(default=1.5, ge=1.0)
    carrier_core_one_way_ms: float = Field(
        default=1.5, ge=0, description="5G core (UPF) traversal to a Wavelength zone"
    )
    service_link_one_way_ms: float = Field(
        default=2.0, ge=0, description="Outpost service link VPN overhead on top of propagation"
    )
    lan_one_way_ms: float = Field(default=0.25, ge=0, description="on-premises LAN")
    # --- variability ---
    jitter_shape: float = Field(
        default=2.0, gt=0, description="shape k of the Gamma distribution of extra RTT"
    )
    path_jitter_fraction: float = Field(
        default=0.02, ge=0, description="mean extra RTT on the wide-area part, as a fraction of it"
    )
    backbone_loss_per_hop: float = Field(default=0.00001, ge=0, le=1)
    internet_loss_per_hop: float = Field(default=0.0002, ge=0, le=1)
    access: dict[str, AccessProfile] = Field(default_factory=_default_access)
    country_extra_rtt_ms: dict[str, float] = Field(
        default_factory=_default_country_extra,
        description="extra round trip for every user in a country (ISO code), on top of the"
        " access kind's rtt_ms: its access and regional networks' measured excess over the"
        " world median (edgesim/latency/access_data.py)",
    )

    def access_profile(self, kind: str) -> AccessProfile:
        return self.access[kind]
