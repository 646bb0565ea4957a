"""S3 buckets and Transfer Acceleration in scenarios (edgesim.services.s3)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edgesim.errors import InputError
from edgesim.sim.api import run_scenario

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
EXAMPLE = ROOT / "scenarios" / "s3ta-sydney-uploads.yaml"


BASE = """\
edgesim: 1
name: s3
world: aws-world
duration: 2m
clients:
  - metros: [tokyo, sydney]
    requests_per_second: 5
    access: fibre
    resolvers: isp
workloads:
  - {name: up, host: b.example.com, target: "TARGET", method: PUT, upload_size: 50MB,
     connection_reuse: 0}
s3:
  buckets:
    - {name: NAME, region: ap-southeast-2, transfer_acceleration: ACCEL}
"""


def _scenario(write: Callable[[str, str], Path], *, name: str, accel: bool, target: str) -> Path:
    text = BASE.replace("TARGET", target).replace("NAME", name).replace("ACCEL", str(accel).lower())
    return write("s.yaml", text)


def test_bucket_with_dots_refused_when_acceleration_is_on(
    write: Callable[[str, str], Path],
) -> None:
    path = _scenario(write, name="videos.example", accel=True, target="s3:videos.example")
    with pytest.raises(InputError) as exc:
        run_scenario(path)
    text = exc.value.render()
    assert "s3.buckets[0].name" in text
    assert "has a dot in its name" in text
    assert "s.yaml:" in text  # with the file (and line) it came from


def test_bucket_with_dots_is_fine_without_acceleration(
    write: Callable[[str, str], Path],
) -> None:
    path = _scenario(write, name="videos.example", accel=False, target="s3:videos.example")
    assert run_scenario(path).requests() > 0


def test_accelerate_target_needs_acceleration_on(write: Callable[[str, str], Path]) -> None:
    path = _scenario(write, name="videos", accel=False, target="s3-accelerate:videos")
    with pytest.raises(InputError) as exc:
        run_scenario(path)
    text = exc.value.render()
    assert "workloads[0].target" in text
    assert "Transfer Acceleration" in text


def test_unknown_region_refused(write: Callable[[str, str], Path]) -> None:
    text = BASE.replace("TARGET", "s3:v").replace("NAME", "v").replace("ACCEL", "false")
    path = write("s.yaml", text.replace("region: ap-southeast-2", "region: mars-1"))
    with pytest.raises(InputError) as exc:
        run_scenario(path)
    assert "s3.buckets[0].region" in exc.value.render()


def test_example_scenario_assertions_hold_and_show_the_effect() -> None:
    r = run_scenario(EXAMPLE)
    assert all(a["ok"] for a in r.report["assertions"]), r.report["assertions"]
    direct = r.latency(workload="upload-direct")
    fast = r.latency(workload="upload-accelerated")
    assert fast.mean < 0.5 * direct.mean  # the FAQ's "50 % reduction" into Sydney, or better
    block = r.report["services"]["s3"]["videos-fast"]["accelerate"]
    assert 0 < block["bypassed_uploads"] < block["uploads"]
    # Sydney users are bypassed: their accelerated uploads take the direct time.
    syd_direct = r.latency(group="sydney", workload="upload-direct").p50
    syd_fast = r.latency(group="sydney", workload="upload-accelerated").p50
    assert syd_fast == pytest.approx(syd_direct, rel=0.05)


def test_accelerated_uploads_connect_at_the_edge(write: Callable[[str, str], Path]) -> None:
    path = _scenario(write, name="videos", accel=True, target="s3-accelerate:videos")
    r = run_scenario(path)
    assert r.availability() == 1.0
    # TCP and TLS end at the edge location near Tokyo, not in Sydney: short handshakes.
    tokyo = r.report["groups"]["tokyo"]
    assert tokyo["phases_mean_ms"]["connect"] < 30
    assert tokyo["hops_mean_ms"]["edge→S3 (backbone)"] > 0
    assert "NRT57" in r.report["pops"]


def test_scenario_agrees_with_the_model(write: Callable[[str, str], Path]) -> None:
    """Direct uploads in a run take what ``s3ta compare`` predicts (jitter aside)."""
    import numpy as np

    from edgesim.services.s3 import model as s3ta
    from edgesim.topology import load_world

    path = _scenario(write, name="videos", accel=False, target="s3:videos")
    r = run_scenario(path)
    w = load_world("aws-world")
    cp = s3ta.client_paths(w, ["client:tokyo"], "region:ap-southeast-2", access="fibre")
    want = s3ta.compare(50e6, cp.paths, np.array([250 * 125_000.0]))
    got = r.latency(group="tokyo").p50
    # + S3's 20 ms service time, DNS; jitter adds a few % of the round trips.
    assert got == pytest.approx(float(want.direct_ms[0]) + 20, rel=0.08)
