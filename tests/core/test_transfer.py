"""TCP transfer time (edgesim.transfer): slow start from RFC 6928's 10-segment window, the
bandwidth-delay cap and Mathis' loss-limited rate. Expected values are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edgesim.transfer import (
    INITIAL_WINDOW_SEGMENTS,
    MSS_BYTES,
    mathis_rate_bytes_per_s,
    transfer_ms,
)

HUGE_BW = 1e18  # bytes/s: serialisation of any test size is below a nanosecond
SETTINGS = settings(max_examples=200, deadline=None)

sizes = st.integers(min_value=0, max_value=10**9)
rtts = st.floats(min_value=0.5, max_value=600.0)
bandwidths = st.floats(min_value=1e4, max_value=1e10)
losses = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=0.2))


def slow_start_rounds(size: int, iw: int = 10, mss: int = 1460) -> int:
    """Windows of iw, 2iw, 4iw ... segments needed to carry ``size`` bytes (at least one)."""
    segments = max(math.ceil(size / mss), 1)
    rounds, carried, window = 0, 0, iw
    while carried < segments:
        carried += window
        window *= 2
        rounds += 1
    return rounds


def test_constants_are_rfc_6928() -> None:
    assert INITIAL_WINDOW_SEGMENTS == 10
    assert MSS_BYTES == 1460


@pytest.mark.parametrize(
    ("size", "extra_rtts"),
    [
        (0, 0),
        (1, 0),
        (14_600, 0),  # exactly the initial window: 10 x 1460
        (14_601, 1),  # one byte more needs a second window
        (30 * 1460, 1),  # 10 + 20 segments: two windows
        (30 * 1460 + 1, 2),
        (70 * 1460, 2),  # 10 + 20 + 40
        (70 * 1460 + 1, 3),
        (150 * 1460, 3),  # 10 + 20 + 40 + 80
        (150 * 1460 + 1, 4),
    ],
)
def test_slow_start_rounds_without_a_bandwidth_limit(size: int, extra_rtts: int) -> None:
    rtt = 80.0
    serialisation_ms = size / HUGE_BW * 1000
    got = float(transfer_ms(size, rtt, HUGE_BW))
    assert got == pytest.approx(extra_rtts * rtt + serialisation_ms, abs=1e-9)


def test_initial_window_of_exactly_one_window_is_serialisation_only() -> None:
    # 14,600 bytes at 1 MB/s: no extra round trip, just 14.6 ms on the wire
    assert float(transfer_ms(14_600, 100.0, 1e9)) == pytest.approx(14_600 / 1e9 * 1000)


@SETTINGS
@given(size=sizes, rtt=rtts)
def test_unlimited_bandwidth_takes_rounds_minus_one_rtts(size: int, rtt: float) -> None:
    # serialisation at HUGE_BW is below a microsecond, whichever bytes it covers
    expected = (slow_start_rounds(size) - 1) * rtt
    assert float(transfer_ms(size, rtt, HUGE_BW)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("iw", "mss"), [(1, 536), (4, 1000), (3, 1460)])
def test_custom_initial_window_and_mss(iw: int, mss: int) -> None:
    rtt = 10.0
    for size in (iw * mss, iw * mss + 1, 3 * iw * mss, 3 * iw * mss + 1, 7 * iw * mss + 1):
        got = float(transfer_ms(size, rtt, HUGE_BW, initial_window=iw, mss=mss))
        assert got == pytest.approx((slow_start_rounds(size, iw, mss) - 1) * rtt, abs=1e-6)


def test_bandwidth_bound_transfer_approaches_size_over_rate() -> None:
    size, rtt, rate = 10**9, 50.0, 12.5e6  # 1 GB over 100 Mbit/s, 50 ms
    # pipe = 12.5e6 * 0.05 / 1460 = 428 segments; 10 * 2^k >= 428 first at k = 6
    k = 6
    wire_ms = size / rate * 1000  # 80 s
    got = float(transfer_ms(size, rtt, rate))
    assert wire_ms <= got <= wire_ms + k * rtt
    assert got / wire_ms == pytest.approx(1.0, rel=0.005)


def test_mathis_rate_by_hand() -> None:
    # MSS / (RTT * sqrt(2p/3)) = 1460 / (0.1 * sqrt(0.02 / 3)) = 1460 / 0.0081650 B/s
    assert float(mathis_rate_bytes_per_s(100.0, 0.01)) == pytest.approx(178_812.75, rel=1e-6)
    # 1460 / (0.05 * sqrt(2e-4 / 3)) = 1460 / 4.0825e-4
    assert float(mathis_rate_bytes_per_s(50.0, 1e-4)) == pytest.approx(3_576_255.0, rel=1e-6)


def test_mathis_rate_is_infinite_without_loss() -> None:
    r = mathis_rate_bytes_per_s([10.0, 10.0, 200.0], [0.0, 0.01, 0.0])
    assert math.isinf(r[0])
    assert math.isinf(r[2])
    assert math.isfinite(r[1])


def test_loss_caps_the_rate_of_a_long_transfer() -> None:
    size, rtt, p = 10**9, 100.0, 0.01
    rate = 1460 / (0.1 * math.sqrt(2 * p / 3))  # far below the 1 GB/s link
    wire_ms = size / rate * 1000
    got = float(transfer_ms(size, rtt, 1e9, p))
    assert wire_ms <= got <= wire_ms + 20 * rtt
    # without loss the 1 GB/s link takes one second on the wire plus at most the 13 slow-start
    # round trips (pipe = 1e9 * 0.1 / 1460 = 68,493 segments; 10 * 2^13 >= 68,493)
    assert 1000 <= float(transfer_ms(size, rtt, 1e9, 0.0)) <= 1000 + 13 * rtt


@SETTINGS
@given(size=sizes, rtt=rtts, bw=bandwidths, loss=losses)
def test_never_faster_than_the_bottleneck(size: int, rtt: float, bw: float, loss: float) -> None:
    rate = min(bw, 1460 / (rtt / 1000 * math.sqrt(2 * loss / 3))) if loss else bw
    got = float(transfer_ms(size, rtt, bw, loss))
    assert got >= size / rate * 1000 * (1 - 1e-9)
    # nor faster than slow start allows with unlimited bandwidth
    assert got >= (slow_start_rounds(size) - 1) * rtt * (1 - 1e-9)


@SETTINGS
@given(size=sizes, rtt=rtts, factor=st.floats(min_value=1.0, max_value=10.0), bw=bandwidths)
def test_monotone_in_rtt(size: int, rtt: float, factor: float, bw: float) -> None:
    for loss in (0.0, 0.001):
        assert transfer_ms(size, rtt * factor, bw, loss) >= transfer_ms(size, rtt, bw, loss)


@SETTINGS
@given(size=sizes, extra=st.integers(min_value=0, max_value=10**8), rtt=rtts)
def test_monotone_in_size_without_a_bandwidth_limit(size: int, extra: int, rtt: float) -> None:
    assert transfer_ms(size + extra, rtt, HUGE_BW) >= transfer_ms(size, rtt, HUGE_BW)


@SETTINGS
# pipe of 21 segments (rate * RTT / MSS): 30 segments take 100 + 43800/306600 s = 242.9 ms,
# 31 segments 200.003 ms
@example(size=30 * 1460, extra=1, rtt=100.0, bw=21 * 1460 / 0.1)
@given(size=sizes, extra=st.integers(min_value=0, max_value=10**8), rtt=rtts, bw=bandwidths)
def test_monotone_in_size(size: int, extra: int, rtt: float, bw: float) -> None:
    assert transfer_ms(size + extra, rtt, bw) >= transfer_ms(size, rtt, bw)


def test_more_bandwidth_is_never_slower() -> None:
    slow_link = float(transfer_ms(30 * 1460, 100.0, 20 * 1460 / 0.1))
    fast_link = float(transfer_ms(30 * 1460, 100.0, 21 * 1460 / 0.1))
    assert fast_link <= slow_link


def test_inputs_broadcast() -> None:
    size = np.array([[1_000], [50_000], [5_000_000]])  # (3, 1)
    rtt = np.array([5.0, 20.0, 80.0, 150.0])  # (4,)
    loss = np.array([0.0, 0.001, 0.0, 0.02])  # (4,)
    got = transfer_ms(size, rtt, 2.5e6, loss)
    assert got.shape == (3, 4)
    for i, j in np.ndindex(3, 4):
        one = transfer_ms(int(size[i, 0]), float(rtt[j]), 2.5e6, float(loss[j]))
        assert got[i, j] == pytest.approx(float(one), rel=1e-12)
    assert mathis_rate_bytes_per_s(rtt[:, None], loss[None, :]).shape == (4, 4)
