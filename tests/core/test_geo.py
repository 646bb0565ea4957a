from __future__ import annotations

import numpy as np
from geopy.distance import geodesic, great_circle
from hypothesis import given
from hypothesis import strategies as st

from edgesim.geo import geodesic_km, great_circle_km, great_circle_matrix_km

lat = st.floats(min_value=-90, max_value=90, allow_nan=False)
lon = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(lat, lon, lat, lon)
def test_matches_geopy(a: float, b: float, c: float, d: float) -> None:
    assert abs(great_circle_km(a, b, c, d) - great_circle((a, b), (c, d)).km) < 1e-6


def test_known_distance_london_new_york() -> None:
    # Published great-circle distance LHR-JFK is about 5,540 km (airport coordinates).
    assert 5500 < great_circle_km(51.4700, -0.4543, 40.6413, -73.7781) < 5580


def test_matrix_equals_scalar() -> None:
    lats = [0.0, 35.7, -33.9, 51.5]
    lons = [0.0, 139.7, 151.2, -0.1]
    m = great_circle_matrix_km(lats, lons, lats, lons)
    for i in range(4):
        for j in range(4):
            assert np.isclose(m[i, j], great_circle_km(lats[i], lons[i], lats[j], lons[j]))
    assert np.allclose(np.diag(m), 0.0)


def test_geodesic_is_the_wgs84_distance() -> None:
    # Vincenty's classic test line (Flinders Peak to Buninyong, Australia): 54,972.271 m on
    # the WGS-84/GRS-80 ellipsoid (Vincenty 1975, as quoted in geodesy references).
    flinders = (-(37 + 57 / 60 + 3.72030 / 3600), 144 + 25 / 60 + 29.52440 / 3600)
    buninyong = (-(37 + 39 / 60 + 10.15610 / 3600), 143 + 55 / 60 + 35.38390 / 3600)
    assert abs(geodesic_km(*flinders, *buninyong) - 54.972271) < 1e-5
    assert geodesic_km(*flinders, *buninyong) == geodesic(flinders, buninyong).km


@given(lat, lon, lat, lon)
def test_sphere_within_half_a_percent_of_the_ellipsoid(
    a: float, b: float, c: float, d: float
) -> None:
    g = geodesic_km(a, b, c, d)
    assert abs(great_circle_km(a, b, c, d) - g) <= 0.006 * g + 1e-6
