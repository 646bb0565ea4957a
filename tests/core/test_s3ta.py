"""S3 Transfer Acceleration model (edgesim.services.s3.model) and the ``s3ta compare`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgesim.services.s3 import model as s3ta
from edgesim.services.s3.cli import s3ta as s3ta_group
from edgesim.transfer import mathis_rate_bytes_per_s, transfer_ms

MB = 1_000_000
MIB = 1024 * 1024
FIBRE_UP = 250 * 125_000.0  # bytes/s


# ---- single connection, single PUT -----------------------------------------------------------
def test_object_of_one_part_is_one_put_data_plus_one_round_trip() -> None:
    got = s3ta.upload_ms(5 * MB, 80.0, FIBRE_UP, 0.001, part_size=8 * MIB)
    assert got == pytest.approx(transfer_ms(5 * MB, 80.0, FIBRE_UP, 0.001) + 80.0)


def test_one_wave_of_parts_is_create_wave_and_complete() -> None:
    # 10 full parts, 10 in parallel, no loss: one wave where each part gets a tenth of the
    # link, plus three round trips (Create, the parts' responses, Complete).
    part = 8 * MIB
    got = s3ta.upload_ms(10 * part, 50.0, FIBRE_UP, 0.0, part_size=part, parallel=10)
    assert got == pytest.approx(transfer_ms(part, 50.0, FIBRE_UP / 10, 0.0) + 3 * 50.0)


def test_later_waves_reuse_warm_connections_at_the_fair_share() -> None:
    # 30 parts over 10 connections: three waves; the 2nd and 3rd send at the fair share with
    # no slow start.
    part = 8 * MIB
    got = s3ta.upload_ms(30 * part, 50.0, FIBRE_UP, 0.0, part_size=part, parallel=10)
    first = transfer_ms(part, 50.0, FIBRE_UP / 10, 0.0)
    warm = part / (FIBRE_UP / 10) * 1000
    assert got == pytest.approx(first + 2 * warm + (3 + 2) * 50.0)


def test_bandwidth_limited_upload_takes_about_size_over_bandwidth() -> None:
    size = 300 * MB
    got = s3ta.upload_ms(size, 20.0, 20 * 125_000.0, 0.0)
    ideal = size / (20 * 125_000.0) * 1000
    assert ideal < got < ideal * 1.02


def test_parallel_parts_multiply_a_loss_limited_rate() -> None:
    # On a long lossy path each connection is held to Mathis' rate; ten connections get ~10×.
    one = s3ta.upload_ms(300 * MB, 300.0, FIBRE_UP, 0.002, parallel=1)
    ten = s3ta.upload_ms(300 * MB, 300.0, FIBRE_UP, 0.002, parallel=10)
    assert 8.0 < one / ten <= 10.0


def test_last_partial_part_costs_less_than_a_full_one() -> None:
    part = 8 * MIB
    full = s3ta.upload_ms(11 * part, 50.0, FIBRE_UP, 0.001, part_size=part, parallel=10)
    partial = s3ta.upload_ms(10 * part + MIB, 50.0, FIBRE_UP, 0.001, part_size=part, parallel=10)
    ten = s3ta.upload_ms(10 * part, 50.0, FIBRE_UP, 0.001, part_size=part, parallel=10)
    assert ten < partial < full


def test_upload_time_grows_with_size_and_round_trip() -> None:
    sizes = np.geomspace(1_000, 5e10, 60)
    t = s3ta.upload_ms(sizes, 100.0, FIBRE_UP, 0.001)
    assert np.all(np.diff(t) >= 0)
    rtts = np.linspace(5, 400, 40)
    t2 = s3ta.upload_ms(300 * MB, rtts, FIBRE_UP, 0.001)
    assert np.all(np.diff(t2) > 0)


def test_part_size_is_raised_to_stay_within_10000_parts() -> None:
    assert s3ta.effective_part_size(200e9, 8 * MIB) == pytest.approx(20e6)
    assert s3ta.effective_part_size(300 * MB, 8 * MIB) == 8 * MIB


# ---- split TCP -------------------------------------------------------------------------------
def test_split_with_a_lossless_backbone_is_the_user_leg_plus_the_backbone_round_trips() -> None:
    got = s3ta.upload_ms(5 * MB, 10.0, FIBRE_UP, 0.001, backbone_rtt_ms=200.0, backbone_loss=0.0)
    assert got == pytest.approx(transfer_ms(5 * MB, 10.0, FIBRE_UP, 0.001) + 10.0 + 200.0)


def test_split_pipelines_at_the_slower_leg() -> None:
    # A lossy backbone leg is the bottleneck: the data time is the backbone's.
    size = 5 * MB
    bb_rate = float(mathis_rate_bytes_per_s(200.0, 0.01))
    got = s3ta.upload_ms(size, 10.0, FIBRE_UP, 0.0, backbone_rtt_ms=200.0, backbone_loss=0.01)
    assert got == pytest.approx(size / bb_rate * 1000 + 210.0)


def _paths(**kw: float) -> s3ta.PathInputs:
    base = {
        "direct_rtt_ms": 300.0,
        "direct_loss": 0.003,
        "edge_rtt_ms": 10.0,
        "edge_loss": 0.001,
        "backbone_rtt_ms": 260.0,
        "backbone_loss": 0.0002,
    }
    base.update(kw)
    return s3ta.PathInputs(**{k: np.asarray(v, dtype=np.float64) for k, v in base.items()})


def test_far_clients_gain_and_are_not_bypassed() -> None:
    cmp = s3ta.compare(300 * MB, _paths(), FIBRE_UP)
    assert not cmp.bypass
    assert cmp.accelerated_ms < cmp.direct_ms
    assert cmp.effective_ms == cmp.accelerated_ms
    assert cmp.speedup_pct == pytest.approx((cmp.direct_ms / cmp.accelerated_ms - 1) * 100)
    # Handshakes end at the edge: two short round trips instead of two long ones.
    assert cmp.direct_ms - s3ta.upload_ms(300 * MB, 300.0, FIBRE_UP, 0.003) == pytest.approx(600)


def test_no_gain_means_bypass_at_the_direct_time() -> None:
    # The edge is as far as the region and the backbone adds a leg: not faster, bypassed.
    p = _paths(edge_rtt_ms=300.0, edge_loss=0.003, backbone_rtt_ms=3.0, backbone_loss=0.00002)
    cmp = s3ta.compare(300 * MB, p, FIBRE_UP)
    assert cmp.bypass
    assert cmp.effective_ms == cmp.direct_ms


def test_bypass_margin() -> None:
    cmp0 = s3ta.compare(300 * MB, _paths(), FIBRE_UP, bypass_margin=0.0)
    saved = float(cmp0.time_saved_pct) / 100
    assert not s3ta.compare(300 * MB, _paths(), FIBRE_UP, bypass_margin=saved * 0.9).bypass
    assert s3ta.compare(300 * MB, _paths(), FIBRE_UP, bypass_margin=saved * 1.1).bypass


def test_gains_grow_with_distance_and_bandwidth() -> None:
    # S3 FAQ: gains grow with distance and available bandwidth. A nearer region is fewer hops
    # away, so its paths also lose less (loss is per hop in the latency model).
    near_paths = _paths(
        direct_rtt_ms=60.0, direct_loss=0.0014, backbone_rtt_ms=50.0, backbone_loss=0.00003
    )
    near = s3ta.compare(300 * MB, near_paths, FIBRE_UP)
    far = s3ta.compare(300 * MB, _paths(), FIBRE_UP)
    assert far.speedup_pct > near.speedup_pct
    slow = s3ta.compare(300 * MB, _paths(), 8 * 125_000.0)
    assert far.speedup_pct > slow.speedup_pct


def test_vectorised_over_clients_and_sizes() -> None:
    p = _paths(direct_rtt_ms=[[300.0], [150.0], [40.0]])
    cmp = s3ta.compare(np.array([1 * MB, 50 * MB, 300 * MB]), p, FIBRE_UP)
    assert cmp.direct_ms.shape == (3, 3)
    for i, rtt in enumerate((300.0, 150.0, 40.0)):
        one = s3ta.compare(50 * MB, _paths(direct_rtt_ms=rtt), FIBRE_UP)
        assert cmp.direct_ms[i, 1] == pytest.approx(float(one.direct_ms))


# ---- bucket names ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("videos-fast", False),
        ("abc", False),
        ("my.videos", True),
        ("My_Videos", True),
        ("ab", True),
        ("-videos", True),
    ],
)
def test_bucket_names_s3ta_can_accelerate(name: str, bad: bool) -> None:
    assert (s3ta.bucket_name_problem(name) is not None) is bad


def test_dotted_name_message_says_why() -> None:
    msg = s3ta.bucket_name_problem("videos.example.com")
    assert msg is not None
    assert "dot" in msg


# ---- the command -----------------------------------------------------------------------------
def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(s3ta_group, ["compare", *args])
    return r.exit_code, r.output


def test_compare_json_far_metro_gains_local_metro_bypassed() -> None:
    code, out = _run(
        "--bucket-region",
        "ap-southeast-2",
        "--size",
        "300MB",
        "--metros",
        "tokyo,sydney",
        "--json",
    )
    assert code == 0, out
    doc = json.loads(out)
    assert doc["size_bytes"] == 300 * MB
    assert doc["part_size_bytes"] == 8 * MIB
    assert doc["parallel"] == 10
    rows = {r["metro"]: r for r in doc["metros"]}
    assert rows["tokyo"]["speedup_pct"] > 100
    assert not rows["tokyo"]["bypass"]
    # Sydney's edge location and the region are in the same city: nothing to gain.
    assert rows["sydney"]["bypass"]
    assert rows["sydney"]["effective_s"] == rows["sydney"]["direct_s"]


def test_compare_table_default_metros() -> None:
    code, out = _run("--bucket-region", "ap-southeast-2", "--size", "300MB")
    assert code == 0, out
    for word in ("london", "tokyo", "sydney", "speed-up", "bypassed"):
        assert word in out


def test_compare_all_metros_in_tiny() -> None:
    code, out = _run("--bucket-region", "us-east-1", "--world", "tiny", "--all", "--json")
    assert code == 0, out
    assert len(json.loads(out)["metros"]) >= 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket-region", "mars-1"], "--bucket-region"),
        (["--bucket-region", "us-east-1", "--size", "lots"], "--size"),
        (["--bucket-region", "us-east-1", "--part-size", "1MB"], "5 MiB"),
        (["--bucket-region", "us-east-1", "--parallel", "0"], "--parallel"),
        (["--bucket-region", "us-east-1", "--metros", "atlantis"], "atlantis"),
        (["--bucket-region", "us-east-1", "--metros", "tokyo", "--all"], "--all"),
    ],
)
def test_compare_bad_input_exits_2(args: list[str], message: str) -> None:
    code, out = _run(*args)
    assert code == 2
    assert message in out
    assert "Traceback" not in out
