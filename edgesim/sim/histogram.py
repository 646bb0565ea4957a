"""Streaming, constant-memory latency histograms in HdrHistogram's bucket layout.

Recording is vectorised: a whole chunk of latencies becomes bucket indices with numpy (the same
index formula as HdrHistogram) and is added with ``np.bincount``, many histograms at once by
offsetting each histogram's indices. Percentiles follow HdrHistogram's definition, and any
histogram converts to a real :class:`hdrh.histogram.HdrHistogram` (for its standard compressed
encoding, used in baselines). Values are integer microseconds from 1 µs to 1 hour, with 2
significant digits (≤ 1 % relative error).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3600 * 1_000_000
SIGNIFICANT_FIGURES = 2

IntArray = npt.NDArray[np.int64]


@cache
def layout() -> tuple[int, int, int, int, int]:
    """(unit_magnitude, sub_bucket_half_count_magnitude, sub_bucket_half_count, mask,
    counts_len) of the HdrHistogram this module mirrors."""
    h = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
    return (
        int(h.unit_magnitude),
        int(h.sub_bucket_half_count_magnitude),
        int(h.sub_bucket_half_count),
        int(h.sub_bucket_mask),
        int(h.counts_len),
    )


def counts_len() -> int:
    return layout()[4]


def bucket_index(values_us: npt.ArrayLike) -> IntArray:
    """HdrHistogram's counts index of each value (values clipped to the trackable range)."""
    unit_mag, half_mag, half_count, mask, n = layout()
    v = np.clip(np.asarray(values_us, dtype=np.int64), LOWEST_US, HIGHEST_US)
    # bit length of (v | mask): frexp's exponent is exact for integers below 2**53
    pow2ceiling = np.frexp((v | mask).astype(np.float64))[1].astype(np.int64)
    bucket = pow2ceiling - unit_mag - (half_mag + 1)
    sub = v >> (bucket + unit_mag)
    idx = ((bucket + 1) << half_mag) + (sub - half_count)
    out: IntArray = np.minimum(idx, n - 1)
    return out


@cache
def _bucket_values() -> tuple[IntArray, IntArray]:
    """Lowest and highest equivalent value of every bucket."""
    h = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
    low = np.array([h.get_value_from_index(i) for i in range(h.counts_len)], dtype=np.int64)
    high = np.array([h.get_highest_equivalent_value(int(v)) for v in low], dtype=np.int64)
    return low, high


def value_at_percentile(counts: npt.ArrayLike, percentile: float) -> int:
    """HdrHistogram's ``get_value_at_percentile`` on a counts array (0 when empty)."""
    c = np.asarray(counts, dtype=np.int64)
    total = int(c.sum())
    if total == 0:
        return 0
    target = max(int(min(percentile, 100.0) * total / 100 + 0.5), 1)
    idx = int(np.searchsorted(np.cumsum(c), target, side="left"))
    low, high = _bucket_values()
    return int(high[idx] if percentile else low[idx])


def mean_us(counts: npt.ArrayLike) -> float:
    """Mean using each bucket's median equivalent value (HdrHistogram's definition)."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    if total == 0:
        return 0.0
    low, high = _bucket_values()
    mid = low + ((high - low + 1) >> 1)  # HdrHistogram's "median equivalent value"
    return float((c * mid).sum() / total)


def max_us(counts: npt.ArrayLike) -> int:
    c = np.asarray(counts)
    nz = np.flatnonzero(c)
    if len(nz) == 0:
        return 0
    return int(_bucket_values()[1][nz[-1]])


class HistogramSet:
    """``n`` histograms side by side in one 2-D counts array, recorded in one call.

    Recorded indices are buffered and added with one ``np.bincount`` once the buffer is as
    large as the counts array, so the cost per value stays a few nanoseconds however many
    histograms there are.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.width = counts_len()
        self._counts = np.zeros((n, self.width), dtype=np.int64)
        self._pending: list[IntArray] = []
        self._pending_n = 0

    @property
    def counts(self) -> IntArray:
        self.flush()
        return self._counts

    def flush(self) -> None:
        if not self._pending:
            return
        flat = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending = []
        self._pending_n = 0
        size = self.n * self.width
        self._counts += np.bincount(flat, minlength=size)[:size].reshape(self.n, self.width)

    def record(self, which: npt.ArrayLike, values_us: npt.ArrayLike) -> None:
        """Add ``values_us[i]`` to histogram ``which[i]`` for every i."""
        self.record_buckets(which, bucket_index(values_us))

    def record_buckets(self, which: npt.ArrayLike, buckets: IntArray) -> None:
        """Like :meth:`record`, with bucket indices already computed by :func:`bucket_index`."""
        w = np.asarray(which, dtype=np.int64)
        if w.size == 0:
            return
        self._pending.append(w * self.width + buckets)
        self._pending_n += int(w.size)
        if self._pending_n >= max(self.n * self.width // 4, 1 << 18):
            self.flush()

    def grow(self, n: int) -> None:
        if n > self.n:
            self.flush()
            extra = np.zeros((n - self.n, self.width), dtype=np.int64)
            self._counts = np.vstack([self._counts, extra])
            self.n = n


def to_hdr(counts: npt.ArrayLike) -> HdrHistogram:
    """A real HdrHistogram holding these counts (for encoding and cross-checks)."""
    h = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
    low, _ = _bucket_values()
    c = np.asarray(counts, dtype=np.int64)
    for i in np.flatnonzero(c):
        h.record_value(int(low[i]), int(c[i]))
    return h


def summarise_ms(counts: npt.ArrayLike) -> dict[str, float]:
    """p50, p90, p95, p99, p99.9, mean and max in milliseconds, rounded to µs."""
    c = np.asarray(counts)
    return {
        "p50": value_at_percentile(c, 50) / 1000,
        "p90": value_at_percentile(c, 90) / 1000,
        "p95": value_at_percentile(c, 95) / 1000,
        "p99": value_at_percentile(c, 99) / 1000,
        "p999": value_at_percentile(c, 99.9) / 1000,
        "mean": round(mean_us(c) / 1000, 3),
        "max": max_us(c) / 1000,
    }
