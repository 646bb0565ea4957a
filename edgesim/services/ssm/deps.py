"""Parameter Store and AppConfig on the request path (I/O-free).

**Parameter Store reads** (:class:`ParameterReads`): an endpoint reads its parameters for each
request, or through a client-side cache per instance that keeps them ``cache_ttl``. A read is a
round trip from the endpoint's site to the Regional Systems Manager endpoint plus Parameter
Store's own time, and counts against the Region's throughput quota (GetParameter and
GetParameters share it; "AWS Systems Manager endpoints and quotas": 40 transactions per second
by default, 3,000 with higher throughput). Above the quota a read is throttled; the SDK retries
it (edgesim's choice: the SDKs' standard retry mode, 3 attempts, full-jitter exponential backoff
from 100 ms); three throttled attempts, or a Region that is down, fail the request. An instance's
cache is cold when it comes back from patching or a restart, and every cache of an endpoint is
cold when a deployment starts on it, so the burst of reads that follows shows.

**AppConfig** (:func:`appconfig_steps`): a configuration deployment reaches a growing share of
the instances by its strategy — LINEAR: ``growth_factor`` % more each step; EXPONENTIAL:
G·2^k % — the steps evenly spread over ``deployment_duration``, then ``final_bake_time`` during
which an alarm still rolls it back (AWS AppConfig User Guide, "Working with deployment
strategies").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edgesim.compute.deploy import TrafficShift
from edgesim.sim.batch import Batch, Flow, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.distributions import Dist

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
NS = 1_000_000_000
TPS = {"standard": 40.0, "higher": 3000.0}
ATTEMPTS = 3
BACKOFF_BASE_MS = 100.0
FAILED_READ_MS = 1000.0
"""How long a read to a Region that is down takes to fail (the SDK's connect timeout;
edgesim's choice)."""


@dataclass
class RegionQuota:
    """One Region's Parameter Store throughput: reads in the current chunk and the last rate."""

    tps: float
    chunk_start: int = -1
    reads: int = 0
    last_rate: float = 0.0
    total_reads: int = 0
    throttled: int = 0
    peak_rate: float = 0.0

    def share_throttled(self, ctx: SimContext, new_reads: int) -> float:
        chunk_s = max(ctx.chunk_ns / 1e9, 1e-9)
        if ctx.chunk_start_ns != self.chunk_start:
            if self.chunk_start >= 0:
                self.last_rate = self.reads / chunk_s
            self.chunk_start = ctx.chunk_start_ns
            self.reads = 0
        self.reads += new_reads
        self.total_reads += new_reads
        rate = max(self.reads / chunk_s, self.last_rate)
        self.peak_rate = max(self.peak_rate, self.reads / chunk_s)
        return 0.0 if rate <= self.tps else 1.0 - self.tps / rate


@dataclass
class ParameterReads:
    """One endpoint's reads of its parameters (a :data:`Dependency` of the endpoint)."""

    endpoint: str
    site: int
    region: str
    region_node: int
    parameters: int
    ttl_ns: int
    caches: int
    quota: RegionQuota
    service_time: Dist
    rng: np.random.Generator
    expiry: F64 = field(default_factory=lambda: np.zeros(0))
    requests: int = 0
    reads: int = 0
    throttled: int = 0
    failed: int = 0
    read_ms_sum: float = 0.0

    def __post_init__(self) -> None:
        self.expiry = np.full(max(self.caches, 1), -np.inf)

    def cold(self, which: list[int] | None = None) -> None:
        """Empty the caches of instances ``which`` (all when None)."""
        if which is None:
            self.expiry[:] = -np.inf
        else:
            for i in which:
                if 0 <= i < len(self.expiry):
                    self.expiry[i] = -np.inf

    def _misses(self, t_ns: npt.NDArray[np.int64], cache: npt.NDArray[np.int64]) -> Bool:
        miss = np.zeros(len(t_ns), dtype=bool)
        if self.ttl_ns <= 0:
            miss[:] = True
            return miss
        order = np.argsort(t_ns, kind="stable")
        for c in np.unique(cache):
            rows = order[cache[order] == c]
            times = t_ns[rows]
            exp = self.expiry[c]
            k = 0
            while True:
                k += int(np.searchsorted(times[k:], exp, "left"))
                if k >= len(rows):
                    break
                miss[rows[k]] = True
                exp = float(times[k] + self.ttl_ns)
                k += 1
            self.expiry[c] = exp
        return miss

    def __call__(
        self, ctx: SimContext, batch: Batch, flow: Flow, out: Outcome, served: Bool
    ) -> tuple[F64, Bool]:
        n = len(flow)
        extra = np.zeros(n)
        failed = np.zeros(n, dtype=bool)
        rows = np.flatnonzero(served)
        if len(rows) == 0:
            return extra, failed
        counted = flow.start_ns[rows] >= ctx.warmup_ns
        self.requests += int(counted.sum())
        cache = self.rng.integers(0, len(self.expiry), len(rows))
        miss = self._misses(flow.start_ns[rows], cache)
        m = np.flatnonzero(miss)
        if len(m) == 0:
            return extra, failed
        calls = len(m)  # one GetParameters call reads all of them
        one_way = ctx.site_one_way_ms(np.array([self.site], dtype=np.int32), self.region_node)
        rtt = 2.0 * float(one_way[0])
        region_down = f"region:{self.region}" in ctx.world.down_nodes or not math.isfinite(rtt)
        if region_down:
            extra[rows[m]] = FAILED_READ_MS
            failed[rows[m]] = True
            self.failed += int(counted[m].sum())
            self.reads += int(counted[m].sum())
            return extra, failed
        p = self.quota.share_throttled(ctx, calls)
        ms = np.zeros(len(m))
        done = np.zeros(len(m), dtype=bool)
        throttled_any = np.zeros(len(m), dtype=bool)
        for attempt in range(ATTEMPTS):
            todo = ~done
            k = int(todo.sum())
            if k == 0:
                break
            ms[todo] += rtt + self.service_time.sample(self.rng, k) / 1e6
            ok = self.rng.random(k) >= p
            idx = np.flatnonzero(todo)
            done[idx[ok]] = True
            throttled_any[idx[~ok]] = True
            if attempt < ATTEMPTS - 1:
                retry = idx[~ok]
                cap = BACKOFF_BASE_MS * 2**attempt
                ms[retry] += self.rng.random(len(retry)) * cap
        extra[rows[m]] = ms
        failed[rows[m[~done]]] = True
        c = counted[m]
        self.reads += int(c.sum())
        self.throttled += int((throttled_any & c).sum())
        self.quota.throttled += int(throttled_any.sum())
        self.failed += int((~done & c).sum())
        self.read_ms_sum += float(ms[c].sum())
        return extra, failed

    def report(self) -> dict[str, object]:
        return {
            "region": self.region,
            "parameters": self.parameters,
            "cache_ttl_s": self.ttl_ns / NS,
            "caches": len(self.expiry),
            "requests": self.requests,
            "reads": self.reads,
            "cache_hit_ratio": round(1 - self.reads / self.requests, 6) if self.requests else None,
            "throttled_reads": self.throttled,
            "failed_requests": self.failed,
            "read_ms_mean": round(self.read_ms_sum / self.reads, 3) if self.reads else None,
        }


class AppConfigShift(TrafficShift):
    """An AppConfig deployment strategy as a schedule of shares (for
    :class:`edgesim.compute.deploy.Deployment`)."""

    def __init__(self, name: str, growth_type: str, growth_factor: float, duration_ns: int) -> None:
        super().__init__(name, growth_type.lower(), 100, 0)
        object.__setattr__(self, "growth_factor", growth_factor)
        object.__setattr__(self, "duration_ns", duration_ns)

    def steps(self) -> tuple[list[int], list[float]]:
        g = float(getattr(self, "growth_factor", 100.0))
        duration = int(getattr(self, "duration_ns", 0))
        return appconfig_steps(self.kind.upper(), g, duration)


def appconfig_steps(
    growth_type: str, growth_factor: float, duration_ns: int
) -> tuple[list[int], list[float]]:
    """Offsets (ns from the start) and the share of instances with the new configuration."""
    shares: list[float] = []
    k = 0
    while True:
        linear = growth_type == "LINEAR"
        pct = growth_factor * (k + 1) if linear else growth_factor * 2**k
        shares.append(min(pct, 100.0) / 100.0)
        if pct >= 100.0:
            break
        k += 1
    n = len(shares)
    step_ns = duration_ns // n if n else 0
    return [i * step_ns for i in range(n)], shares
