"""What a run found, queryable by group, workload and segment (assertions, reports, pytest)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from edgesim.sim.assertions import PERCENTILES, Assertion
from edgesim.sim.histogram import max_us, mean_us, value_at_percentile

if TYPE_CHECKING:
    from edgesim.sim.engine import Run

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LatencyStats:
    """Latency percentiles in milliseconds (successful requests only)."""

    count: int
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    mean: float
    max: float

    @classmethod
    def from_counts(cls, counts: npt.ArrayLike) -> LatencyStats:
        c = np.asarray(counts)
        return cls(
            count=int(c.sum()),
            p50=value_at_percentile(c, 50) / 1000,
            p90=value_at_percentile(c, 90) / 1000,
            p95=value_at_percentile(c, 95) / 1000,
            p99=value_at_percentile(c, 99) / 1000,
            p999=value_at_percentile(c, 99.9) / 1000,
            mean=round(mean_us(c) / 1000, 3),
            max=max_us(c) / 1000,
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "p999": self.p999,
            "mean": self.mean,
            "max": self.max,
        }


class UnknownNameError(KeyError):
    pass


class Results:
    """Query a finished run. Filters: ``group``, ``workload``, ``segment`` (names)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        m = run.metrics
        self.n_workloads = m.n_workloads
        self.group_names = [g.name for g in run.groups]
        self.segments = sorted({g.segment for g in run.groups})
        self.workload_names = [w.name for w in run.scenario.workloads]
        self._service_funcs: dict[str, Callable[..., float]] = {}
        for svc in run.services:
            self._service_funcs.update(svc.assertion_metrics())
        self.report: dict[str, Any] = {}

    # ---- selection ---------------------------------------------------------------------
    def _pairs(self, group: str | None, workload: str | None, segment: str | None) -> I64:
        nw = self.n_workloads
        gsel = np.ones(len(self.group_names), dtype=bool)
        if group is not None:
            gsel = np.array([n == group or n.endswith("/" + group) for n in self.group_names])
            if not gsel.any():
                raise UnknownNameError(f"no client group '{group}' in this run")
        if segment is not None:
            if segment not in self.segments:
                raise UnknownNameError(f"no segment (clients entry) named '{segment}'")
            gsel &= np.array([g.segment == segment for g in self.run.groups])
        wsel = np.ones(nw, dtype=bool)
        if workload is not None:
            if workload not in self.workload_names:
                raise UnknownNameError(f"no workload '{workload}'")
            wsel = np.array([n == workload for n in self.workload_names])
        pairs = (np.flatnonzero(gsel)[:, None] * nw + np.flatnonzero(wsel)[None, :]).ravel()
        return pairs.astype(np.int64)

    # ---- queries -----------------------------------------------------------------------
    def latency(
        self,
        group: str | None = None,
        workload: str | None = None,
        segment: str | None = None,
        phase: str = "latency",
    ) -> LatencyStats:
        m = self.run.metrics
        if phase != "latency":
            if group is not None or segment is not None:
                raise UnknownNameError("phase latencies are kept per workload only")
            wi = self.workload_names.index(workload) if workload else len(self.workload_names)
            return LatencyStats.from_counts(m.phases.counts[m.phase_row(phase, wi)])
        pairs = self._pairs(group, workload, segment)
        return LatencyStats.from_counts(m.pairs.counts[pairs].sum(axis=0))

    def requests(
        self, group: str | None = None, workload: str | None = None, segment: str | None = None
    ) -> int:
        return int(self.run.metrics.requests[self._pairs(group, workload, segment)].sum())

    def errors(
        self, group: str | None = None, workload: str | None = None, segment: str | None = None
    ) -> int:
        return int(self.run.metrics.errors[self._pairs(group, workload, segment)].sum())

    def availability(
        self, group: str | None = None, workload: str | None = None, segment: str | None = None
    ) -> float:
        n = self.requests(group, workload, segment)
        return 1.0 if n == 0 else 1.0 - self.errors(group, workload, segment) / n

    def error_rate(
        self, group: str | None = None, workload: str | None = None, segment: str | None = None
    ) -> float:
        return 1.0 - self.availability(group, workload, segment)

    def hit_ratio(self, distribution: str, tier: str | None = None) -> float:
        return self._service("hit_ratio", distribution=distribution, tier=tier)

    def failover_time(self, record: str) -> float:
        """Seconds during which users were still sent to a target that was down, for the
        DNS name ``record`` (see :class:`edgesim.sim.dns.DnsStats`)."""
        host = record.lower().rstrip(".")
        if host not in {w.host.lower().rstrip(".") for w in self.run.scenario.workloads}:
            raise UnknownNameError(f"no workload uses the name '{record}'")
        stats = self.run.dns.stats.get(host)
        return stats.failover_s if stats is not None else 0.0

    def _service(self, name: str, **kwargs: Any) -> float:
        fn = self._service_funcs.get(name)
        if fn is None:
            raise UnknownNameError(f"no service in this scenario provides {name}()")
        return fn(**{k: v for k, v in kwargs.items() if v is not None})

    # ---- assertions --------------------------------------------------------------------
    def evaluate(self, a: Assertion) -> float:
        f = a.filters
        if a.func in PERCENTILES or a.func in ("mean", "max"):
            stats = self.latency(
                f.get("group"), f.get("workload"), f.get("segment"), a.metric or "latency"
            )
            return float(getattr(stats, "p50" if a.func == "median" else a.func))
        if a.func == "availability":
            return self.availability(f.get("group"), f.get("workload"), f.get("segment"))
        if a.func == "error_rate":
            return self.error_rate(f.get("group"), f.get("workload"), f.get("segment"))
        if a.func == "requests":
            return float(self.requests(f.get("group"), f.get("workload"), f.get("segment")))
        if a.func == "failover_time":
            return self.failover_time(f["record"])
        return self._service(a.func, **f)
