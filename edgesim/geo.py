"""Distances on the Earth: WGS-84 geodesics (geopy) and a fast spherical great circle.

* :func:`geodesic_km` is geopy's geodesic on the WGS-84 ellipsoid (Karney's algorithm,
  accurate to nanometres), for distances measured once, when data is prepared.
* :func:`great_circle_km` (haversine on a sphere of the mean radius, agreeing with
  ``geopy.distance.great_circle``) and its numpy form :func:`great_circle_matrix_km` serve the
  world builder and the hot paths: the leaf-to-hub distance tables of thousands of sites, Route
  53's geoproximity and latency-record distances per query, path tables. A geodesic costs
  ~50-100 µs in geopy (and cannot be vectorised) against ~1 µs for the scalar haversine and a
  few ns per pair in numpy; the sphere is within 0.5 % of the ellipsoid (tests/core/test_geo.py),
  well inside the route factors' own uncertainty (docs/topology-format.md, "Distances").
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from geopy.distance import geodesic

#: Mean Earth radius in km (IUGG), as used by geopy's great_circle.
EARTH_RADIUS_KM = 6371.009

FloatArray = npt.NDArray[np.float64]


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance in km on the WGS-84 ellipsoid between two points in decimal degrees
    (geopy; for building worlds, not for per-request paths: see the module docstring)."""
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in decimal degrees (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def great_circle_matrix_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Distances in km between every point of set 1 (rows) and set 2 (columns)."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))[:, None]
    l1 = np.radians(np.asarray(lon1, dtype=np.float64))[:, None]
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))[None, :]
    l2 = np.radians(np.asarray(lon2, dtype=np.float64))[None, :]
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    out: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return out
