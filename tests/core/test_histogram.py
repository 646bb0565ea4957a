"""Vectorised HdrHistogram-layout histograms (edgesim.sim.histogram).

The reference is the real ``hdrh.histogram.HdrHistogram(1, 3600 * 10**6, 2)`` fed the same
values one at a time, plus exact order statistics from numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgesim.sim.histogram import (
    HIGHEST_US,
    LOWEST_US,
    HistogramSet,
    bucket_index,
    counts_len,
    max_us,
    mean_us,
    summarise_ms,
    to_hdr,
    value_at_percentile,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

in_range = st.integers(min_value=LOWEST_US, max_value=HIGHEST_US)
# latency-like values: spread over every power of two up to an hour
log_spread = st.integers(min_value=0, max_value=31).flatmap(
    lambda e: st.integers(min_value=max(2**e, 1), max_value=min(2 ** (e + 1), HIGHEST_US))
)
values_st = st.one_of(in_range, log_spread)
data_sets = st.lists(values_st, min_size=1, max_size=300)
percentiles = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


def reference(values: list[int]) -> HdrHistogram:
    h = HdrHistogram(LOWEST_US, HIGHEST_US, 2)
    for v in values:
        assert h.record_value(int(v))
    return h


def counts_of(values: list[int] | np.ndarray) -> np.ndarray:
    return np.bincount(bucket_index(values), minlength=counts_len())


# ---------------------------------------------------------------------------- layout


def test_counts_len_matches_hdrhistogram() -> None:
    assert counts_len() == HdrHistogram(LOWEST_US, HIGHEST_US, 2).counts_len


@SETTINGS
@given(st.lists(values_st, min_size=1, max_size=200))
def test_bucket_index_matches_hdrhistogram(values: list[int]) -> None:
    h = HdrHistogram(LOWEST_US, HIGHEST_US, 2)
    expected = [h._counts_index_for(v) for v in values]
    got = bucket_index(values)
    assert got.dtype == np.int64
    assert got.tolist() == expected


def test_bucket_index_at_power_of_two_edges() -> None:
    h = HdrHistogram(LOWEST_US, HIGHEST_US, 2)
    values = sorted({v for e in range(32) for v in (2**e - 1, 2**e, 2**e + 1)} - {0})
    values = [v for v in values if v <= HIGHEST_US] + [HIGHEST_US - 1, HIGHEST_US]
    assert bucket_index(values).tolist() == [h._counts_index_for(v) for v in values]


def test_values_are_clipped_to_the_trackable_range() -> None:
    low = bucket_index([LOWEST_US])[0]
    high = bucket_index([HIGHEST_US])[0]
    assert bucket_index([0, -5, -(10**9)]).tolist() == [low] * 3
    assert bucket_index([HIGHEST_US + 1, 10 * HIGHEST_US, 10**15]).tolist() == [high] * 3
    assert high < counts_len()


# ---------------------------------------------------------------------------- percentiles


@SETTINGS
@given(data_sets, st.lists(percentiles, min_size=1, max_size=8))
def test_value_at_percentile_matches_hdrhistogram(values: list[int], ps: list[float]) -> None:
    h = reference(values)
    c = counts_of(values)
    for p in [*ps, 0.0, 50.0, 99.9, 100.0]:
        assert value_at_percentile(c, p) == h.get_value_at_percentile(p), p


@SETTINGS
@given(data_sets, percentiles)
def test_percentile_is_within_one_percent_of_the_exact_order_statistic(
    values: list[int], p: float
) -> None:
    # HdrHistogram's rank: p% of the count rounded half up, at least 1
    s = np.sort(np.asarray(values))
    rank = max(int(p * len(s) / 100 + 0.5), 1)
    exact = int(s[rank - 1])
    got = value_at_percentile(counts_of(values), p)
    if p == 0:
        assert exact * 0.99 <= got <= exact
    else:
        assert exact <= got <= exact * 1.01


@pytest.mark.parametrize("p", [50, 90, 99, 99.9])
def test_percentiles_agree_with_numpy_on_a_large_sample(p: float) -> None:
    rng = np.random.default_rng(11)
    values = np.rint(rng.lognormal(np.log(40_000), 1.0, 200_000)).astype(np.int64)
    exact = np.percentile(values, p, method="inverted_cdf")
    got = value_at_percentile(counts_of(values), p)
    assert abs(got - exact) / exact <= 0.01


def test_percentile_above_100_is_the_maximum() -> None:
    c = counts_of([10, 20, 3000])
    assert value_at_percentile(c, 150) == value_at_percentile(c, 100) == max_us(c)


def test_empty_histogram() -> None:
    c = np.zeros(counts_len(), dtype=np.int64)
    assert value_at_percentile(c, 50) == 0
    assert mean_us(c) == 0.0
    assert max_us(c) == 0


# ---------------------------------------------------------------------------- mean and max


@SETTINGS
@given(st.lists(st.integers(min_value=256, max_value=HIGHEST_US), min_size=1, max_size=200))
def test_mean_matches_hdrhistogram(values: list[int]) -> None:
    assert mean_us(counts_of(values)) == pytest.approx(reference(values).get_mean_value())


def test_mean_matches_hdrhistogram_for_small_values() -> None:
    values = [5, 7, 100]
    assert mean_us(counts_of(values)) == pytest.approx(reference(values).get_mean_value())


@SETTINGS
@given(data_sets)
def test_max_matches_hdrhistogram(values: list[int]) -> None:
    assert max_us(counts_of(values)) == reference(values).get_max_value()


@SETTINGS
@given(data_sets)
def test_mean_is_within_one_percent_of_the_exact_mean(values: list[int]) -> None:
    exact = float(np.mean(values))
    assert abs(mean_us(counts_of(values)) - exact) <= 0.01 * exact + 0.5


def test_summarise_ms() -> None:
    values = list(range(1000, 101_000, 1000))  # 1 ms .. 100 ms, 100 values
    h = reference(values)
    s = summarise_ms(counts_of(values))
    assert set(s) == {"p50", "p90", "p95", "p99", "p999", "mean", "max"}
    assert s["p50"] == h.get_value_at_percentile(50) / 1000
    assert s["p99"] == h.get_value_at_percentile(99) / 1000
    assert s["max"] == h.get_max_value() / 1000
    assert s["p50"] == pytest.approx(50, rel=0.01)
    assert s["mean"] == pytest.approx(50.5, rel=0.01)


# ---------------------------------------------------------------------------- HistogramSet


def test_histogram_set_buffered_batches_equal_a_direct_bincount() -> None:
    rng = np.random.default_rng(3)
    n = 4
    hs = HistogramSet(n)
    all_which, all_values = [], []
    for _ in range(500):  # many small batches: stays below the flush threshold
        k = int(rng.integers(0, 50))
        which = rng.integers(0, n, k)
        values = rng.integers(1, 5_000_000, k)
        hs.record(which, values)
        all_which.append(which)
        all_values.append(values)
    which = np.concatenate(all_which)
    values = np.concatenate(all_values)
    counts = hs.counts
    assert counts.shape == (n, counts_len())
    assert counts.sum() == len(values)
    for i in range(n):
        expected = np.bincount(bucket_index(values[which == i]), minlength=counts_len())
        assert np.array_equal(counts[i], expected)
    # reading twice does not count twice
    assert np.array_equal(hs.counts, counts)


def test_histogram_set_auto_flush_does_not_lose_or_double_count() -> None:
    rng = np.random.default_rng(4)
    n = 3
    hs = HistogramSet(n)
    expected = np.zeros((n, counts_len()), dtype=np.int64)
    for _ in range(13):  # 13 x 100k values crosses the 2**20 flush threshold
        which = rng.integers(0, n, 100_000)
        values = rng.integers(1, HIGHEST_US, 100_000)
        hs.record(which, values)
        np.add.at(expected, (which, bucket_index(values)), 1)
    assert np.array_equal(hs.counts, expected)


def test_histogram_set_empty_record_is_a_no_op() -> None:
    hs = HistogramSet(2)
    hs.record([], [])
    assert hs.counts.sum() == 0


def test_histogram_set_matches_hdrhistogram_per_row() -> None:
    rng = np.random.default_rng(5)
    hs = HistogramSet(2)
    values = rng.integers(1, 10_000_000, 2000)
    which = rng.integers(0, 2, 2000)
    hs.record(which, values)
    for i in range(2):
        h = reference(values[which == i].tolist())
        for p in (50, 90, 99, 100):
            assert value_at_percentile(hs.counts[i], p) == h.get_value_at_percentile(p)


def test_grow_keeps_counts_and_adds_empty_rows() -> None:
    hs = HistogramSet(2)
    hs.record([0, 1, 1], [10, 20, 30])  # still buffered when grow() is called
    hs.grow(5)
    assert hs.n == 5
    hs.record([4, 4, 0], [1000, 2000, 40])
    c = hs.counts
    assert c.shape == (5, counts_len())
    assert c.sum(axis=1).tolist() == [2, 2, 0, 0, 2]
    assert np.array_equal(c[1], counts_of([20, 30]))
    assert np.array_equal(c[4], counts_of([1000, 2000]))
    hs.grow(3)  # shrinking is a no-op
    assert hs.counts.shape == (5, counts_len())


# ---------------------------------------------------------------------------- to_hdr


@SETTINGS
@given(data_sets)
def test_to_hdr_round_trip(values: list[int]) -> None:
    c = counts_of(values)
    h = to_hdr(c)
    assert h.get_total_count() == len(values)
    assert np.array_equal(np.asarray(h.counts[: counts_len()]), c)
    direct = reference(values)
    for p in (0, 25, 50, 90, 99, 99.9, 100):
        assert h.get_value_at_percentile(p) == value_at_percentile(c, p)
        assert h.get_value_at_percentile(p) == direct.get_value_at_percentile(p)
    assert h.get_max_value() == max_us(c)
    # the standard encoding decodes to the same histogram
    decoded = HdrHistogram.decode(h.encode())
    assert decoded.get_total_count() == len(values)
    assert decoded.get_value_at_percentile(50) == value_at_percentile(c, 50)
