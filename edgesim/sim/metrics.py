"""Constant-memory metrics of a run: histograms, counters, phase and hop sums, time series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edgesim.sim.batch import PHASES, Batch, Outcome
from edgesim.sim.histogram import HistogramSet, bucket_index, summarise_ms

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass
class Metrics:
    n_groups: int
    n_workloads: int
    n_nodes: int
    site_nodes: I64
    """Node indices that can serve (regions, zones, Outposts): one latency histogram each."""
    pop_nodes: I64
    """Node indices of edge locations: one latency histogram each."""
    warmup_ns: int
    interval_ns: int
    pairs: HistogramSet = field(init=False)
    sites: HistogramSet = field(init=False)
    requests: I64 = field(init=False)
    errors: I64 = field(init=False)
    phase_sum: dict[str, F64] = field(init=False)
    hop_sum: dict[str, F64] = field(init=False, default_factory=dict)
    hop_count: dict[str, I64] = field(init=False, default_factory=dict)
    status: dict[int, int] = field(default_factory=dict)
    series: list[dict[str, Any]] = field(default_factory=list)
    _iv_hist: HistogramSet = field(init=False)
    _iv_requests: I64 = field(init=False)
    _iv_errors: I64 = field(init=False)
    _iv_index: int = -1

    def __post_init__(self) -> None:
        n = self.n_groups * self.n_workloads
        self.pairs = HistogramSet(n)
        self.site_row = np.full(self.n_nodes, -1, dtype=np.int64)
        self.site_row[self.site_nodes] = np.arange(len(self.site_nodes))
        self.sites = HistogramSet(max(len(self.site_nodes), 1))
        self.pop_row = np.full(self.n_nodes, -1, dtype=np.int64)
        self.pop_row[self.pop_nodes] = np.arange(len(self.pop_nodes))
        self.pops = HistogramSet(max(len(self.pop_nodes), 1))
        self.pop_requests = np.zeros(self.n_nodes, dtype=np.int64)
        self.requests = np.zeros(n, dtype=np.int64)
        self.errors = np.zeros(n, dtype=np.int64)
        self.site_requests = np.zeros(self.n_nodes, dtype=np.int64)
        self.phase_sum = {p: np.zeros(n) for p in PHASES}
        self.phases = HistogramSet(len(PHASES) * (self.n_workloads + 1))
        self._reset_interval()

    def phase_row(self, phase: str, workload: int) -> int:
        """Row of ``phases`` for a phase and a workload index (n_workloads: all)."""
        return PHASES.index(phase) * (self.n_workloads + 1) + workload

    def _reset_interval(self) -> None:
        self._iv_hist = HistogramSet(self.n_workloads + 1)
        self._iv_requests = np.zeros(self.n_workloads + 1, dtype=np.int64)
        self._iv_errors = np.zeros(self.n_workloads + 1, dtype=np.int64)

    def record(self, batch: Batch, out: Outcome, total_ms: F64) -> None:
        keep = batch.t_ns >= self.warmup_ns
        if not keep.all():
            idx = np.flatnonzero(keep)
            if len(idx) == 0:
                return
            self._record(batch, out, total_ms, idx)
        else:
            self._record(batch, out, total_ms, None)

    def _record(self, batch: Batch, out: Outcome, total_ms: F64, idx: I64 | None) -> None:
        def take(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return a if idx is None else a[idx]

        g = take(batch.group).astype(np.int64)
        w = take(batch.workload).astype(np.int64)
        ok = take(out.ok)
        pair = g * self.n_workloads + w
        n = self.n_groups * self.n_workloads
        lat_us = np.rint(take(total_ms) * 1000.0).astype(np.int64)
        buckets = bucket_index(lat_us)
        self.pairs.record_buckets(pair[ok], buckets[ok])
        self.requests += np.bincount(pair, minlength=n)
        bad = ~ok
        if bad.any():
            self.errors += np.bincount(pair[bad], minlength=n)
        codes, counts = np.unique(take(out.status), return_counts=True)
        for c, k in zip(codes.tolist(), counts.tolist(), strict=True):
            self.status[int(c)] = self.status.get(int(c), 0) + int(k)
        pok = pair[ok]
        wok = w[ok]
        nw1 = self.n_workloads + 1
        for pi, p in enumerate(PHASES):
            vals = take(out.phase_ms[p])[ok]
            self.phase_sum[p] += np.bincount(pok, weights=vals, minlength=n)
            pb = bucket_index(np.rint(vals * 1000.0).astype(np.int64))
            self.phases.record_buckets(pi * nw1 + wok, pb)
            self.phases.record_buckets(np.full(len(wok), pi * nw1 + nw1 - 1), pb)
        for name, arr in out.hop_ms.items():
            if name not in self.hop_sum:
                self.hop_sum[name] = np.zeros(n)
            self.hop_sum[name] += np.bincount(pok, weights=take(arr)[ok], minlength=n)
        for nodes, counts, row, hist in (
            (take(out.site), self.site_requests, self.site_row, self.sites),
            (take(out.pop), self.pop_requests, self.pop_row, self.pops),
        ):
            _record_by_node(nodes.astype(np.int64), ok, buckets, counts, row, hist)
        # Time series (the chunk lies within one interval).
        t0 = int(take(batch.t_ns)[0])
        iv = (t0 - self.warmup_ns) // self.interval_ns
        if iv != self._iv_index:
            self.close_interval()
            self._iv_index = iv
        nw = self.n_workloads
        self._iv_hist.record_buckets(w[ok], buckets[ok])
        self._iv_hist.record_buckets(np.full(int(ok.sum()), nw), buckets[ok])
        self._iv_requests += np.bincount(w, minlength=nw + 1)
        self._iv_requests[nw] += len(w)
        if bad.any():
            self._iv_errors += np.bincount(w[bad], minlength=nw + 1)
            self._iv_errors[nw] += int(bad.sum())

    def close_interval(self) -> None:
        if self._iv_index < 0:
            return
        counts = self._iv_hist.counts
        row: dict[str, Any] = {
            "t_s": round((self.warmup_ns + self._iv_index * self.interval_ns) / 1e9, 3),
            "requests": self._iv_requests.tolist(),
            "errors": self._iv_errors.tolist(),
            "latency_ms": [summarise_ms(counts[i]) for i in range(self.n_workloads + 1)],
        }
        self.series.append(row)
        self._reset_interval()
        self._iv_index = -1


def _record_by_node(
    nodes: I64,
    ok: npt.NDArray[np.bool_],
    buckets: I64,
    counts: I64,
    row: I64,
    hist: HistogramSet,
) -> None:
    """Count requests per node (-1: none) and add successful ones to that node's histogram."""
    has = nodes >= 0
    if not has.any():
        return
    counts += np.bincount(nodes[has], minlength=len(counts))
    sel = has & ok
    rows = row[nodes[sel]]
    known = rows >= 0
    hist.record_buckets(rows[known], buckets[sel][known])
