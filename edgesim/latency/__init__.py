"""Latency model: constants, path queries with per-hop breakdown, and vectorised tables."""

from edgesim.latency.params import ACCESS_KINDS, AccessProfile, LatencyParams
from edgesim.latency.paths import (
    Hop,
    NoPath,
    PathResult,
    client_to_pop,
    client_to_region,
    client_to_wavelength,
    nearest_pop,
    path,
    pop_to_region,
    region_to_region,
    site_to_region,
    to_site,
)
from edgesim.latency.tables import one_way_matrix, rtt_matrix

__all__ = [
    "ACCESS_KINDS",
    "AccessProfile",
    "Hop",
    "LatencyParams",
    "NoPath",
    "PathResult",
    "client_to_pop",
    "client_to_region",
    "client_to_wavelength",
    "nearest_pop",
    "one_way_matrix",
    "path",
    "pop_to_region",
    "region_to_region",
    "rtt_matrix",
    "site_to_region",
    "to_site",
]
