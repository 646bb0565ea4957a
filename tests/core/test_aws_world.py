"""The built-in world: what it must contain, and how well it predicts measured latency."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from edgesim.latency import client_to_region, region_to_region
from edgesim.latency.tables import keys_of, rtt_matrix
from edgesim.topology import ClientGroup, LinkClass, NodeKind, World, load_world

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


@pytest.fixture(scope="module")
def aws() -> World:
    return load_world("aws-world")


def test_counts(aws: World) -> None:
    c = aws.counts()
    assert c["region"] >= 32
    assert c["lz"] >= 20
    assert c["wlz"] >= 15
    assert c["outpost"] >= 2
    metros = [g for g in aws.client_groups if g.carrier is None]
    assert len(metros) >= 200
    recs = [p for p in aws.edge_locations if p.tier == "regional"]
    assert len(recs) >= 13


def test_every_region_and_pop_city_from_the_reference_data(aws: World) -> None:
    with (ROOT / "data" / "regions.csv").open() as fh:
        codes = {r["code"] for r in csv.DictReader(fh)}
    assert codes <= {r.id for r in aws.regions}
    with (ROOT / "data" / "cloudfront-pop-cities.csv").open() as fh:
        cities = list(csv.DictReader(fh))
    pops = [p for p in aws.edge_locations if p.tier == "edge"]
    assert len(pops) >= len(cities)


def test_all_regions_reach_each_other_over_the_backbone(aws: World) -> None:
    regions = keys_of(aws, NodeKind.REGION)
    m = rtt_matrix(aws, regions, regions, LinkClass.BACKBONE)
    assert np.isfinite(m).all()


def test_every_user_reaches_every_edge_location(aws: World) -> None:
    m = rtt_matrix(aws, keys_of(aws, NodeKind.CLIENT), keys_of(aws, NodeKind.POP), "internet")
    assert np.isfinite(m).all()


def _calibration() -> dict[tuple[str, str], float]:
    with (ROOT / "data" / "calibration" / "inter-region-rtt-calibration.csv").open() as fh:
        return {(r["src"], r["dst"]): float(r["rtt_p50_ms"]) for r in csv.DictReader(fh)}


def test_error_against_measured_inter_region_rtts(aws: World) -> None:
    """The accuracy docs/latency-model.md reports: median and p90 absolute % error."""
    measured = _calibration()
    errs = []
    for (a, b), rtt in measured.items():
        if a == b:
            continue
        model = region_to_region(aws, f"region:{a}", f"region:{b}").rtt_ms
        errs.append(abs(model - rtt) / rtt * 100)
    assert len(errs) == 240
    assert np.median(errs) <= 6.0
    assert np.percentile(errs, 90) <= 15.0


def test_detours_come_from_the_graph(aws: World) -> None:
    """Cape Town to Sao Paulo goes through Europe and the US, not straight across."""
    res = region_to_region(aws, "region:af-south-1", "region:sa-east-1")
    floor = res.fibre_floor_rtt_ms(aws)
    assert res.rtt_ms > 2.5 * floor
    lats = [aws.nodes[n].lat for n in res.nodes]
    assert max(lats) > 35  # via the northern hemisphere


def test_internet_stretch_matches_published_median(aws: World) -> None:
    """Bozkurt et al. 2018: public-internet RTT ~ 2.1x the fibre line-of-sight latency."""
    clients = [g for g in aws.client_groups if g.carrier is None]
    ratios = []
    for g in clients[::5]:
        for region in ("region:us-east-1", "region:eu-central-1", "region:ap-southeast-1"):
            res = client_to_region(aws, g.key, region)
            wan = res.rtt_ms - 2 * res.access_one_way_ms
            if res.great_circle_km > 2000:
                ratios.append(wan / res.fibre_floor_rtt_ms(aws))
    assert 1.7 <= float(np.median(ratios)) <= 2.6


def test_wavelength_carriers_have_subscriber_groups(aws: World) -> None:
    carriers = {
        n.carrier  # type: ignore[attr-defined]
        for n in aws.nodes.values()
        if n.kind == NodeKind.WAVELENGTH_ZONE
    }
    subs = {g.carrier for g in aws.client_groups if isinstance(g, ClientGroup) and g.carrier}
    assert carriers <= subs
