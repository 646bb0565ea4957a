"""AWS Lambda: execution environments, cold starts, concurrency and throttling (I/O-free,
vectorised per chunk).

Documented behaviour (AWS Lambda Developer Guide):

* each execution environment serves one request at a time; a request that finds no idle
  environment gets a new one and pays its **cold start** (the Init phase) before the handler
  runs ("Understanding the Lambda execution environment lifecycle");
* concurrency (requests in flight) is limited per Region to 1,000 by default, or by a
  function's reserved concurrency; beyond it, and beyond the **scaling rate** of 1,000 new
  environments every 10 seconds per function (refilled continuously, never banked), requests
  are **throttled with 429** ("Lambda scaling behavior");
* memory is 128 MB–10,240 MB; CPU is proportional to memory, one vCPU at 1,769 MB, up to six
  ("Configure Lambda function memory");
* the timeout is 3 s by default and at most 900 s (15 minutes); an invocation that runs longer
  is stopped with an error ("Configure Lambda function timeout");
* provisioned concurrency keeps that many environments initialised.

Not documented, edgesim's choices: an idle environment is kept for ``idle`` (default 10 min;
third-party measurements report between about 5 and 45 minutes), the Init time does not
depend on memory, and the runtime Init times in :data:`RUNTIME_INIT_MS` are rounded figures of
public hello-world benchmarks (docs/compute.md).

The vectorised model, per batch of arrivals at times ``t`` with handler durations ``d`` (sorted
by time): the concurrency seen by arrival *i* is the number of earlier invocations still
running at ``t_i`` (those carried over from earlier batches and chunks, plus earlier ones of
this batch), counted with two sorted searches. An arrival that finds every environment busy
creates one (cold) — the pool grows to the running maximum of the concurrency — unless the
concurrency limit or the scaling-rate budget is exhausted (429). Because cold starts lengthen
invocations, which raises later concurrency, the pass runs twice with the durations of the
first. Batches that reach one function in the same chunk (several workloads, CloudFront misses)
see each other only in arrival order of the batches (edgesim's approximation).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
NS = 1_000_000_000

MB_PER_VCPU = 1769
"""At 1,769 MB a function has the equivalent of one vCPU (Lambda Developer Guide)."""
MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10_240
MAX_TIMEOUT_NS = 900 * NS
DEFAULT_CONCURRENCY = 1000
SCALE_BURST = 1000
"""New execution environments a function may add per 10 seconds."""
SCALE_RATE_PER_S = SCALE_BURST / 10.0

PLATFORM_INIT_MS = 60.0
"""Creating the environment and downloading the code, before the runtime's Init (edgesim's
choice; Init Duration in the logs excludes it)."""

RUNTIME_INIT_MS: dict[str, float] = {
    "nodejs": 150.0,
    "python": 130.0,
    "ruby": 200.0,
    "java": 450.0,
    "java-snapstart": 120.0,
    "dotnet": 250.0,
    "provided": 60.0,
    "rust": 30.0,
}
"""Runtime Init time of a minimal function (ms, median, x86_64), rounded from public
benchmarks; a real function's own initialisation (imports, SDK clients, connections) is added
with ``init``."""


def runtime_family(runtime: str) -> str | None:
    """The row of :data:`RUNTIME_INIT_MS` for an AWS runtime identifier (``python3.12``,
    ``nodejs20.x``, ``java21``, ``provided.al2023`` …), or None."""
    r = runtime.strip().lower()
    if r.startswith("java"):
        return "java-snapstart" if "snapstart" in r else "java"
    for prefix, family in (
        ("nodejs", "nodejs"),
        ("node", "nodejs"),
        ("python", "python"),
        ("ruby", "ruby"),
        ("dotnet", "dotnet"),
        (".net", "dotnet"),
        ("provided", "provided"),
        ("go", "provided"),
        ("rust", "rust"),
    ):
        if r.startswith(prefix):
            return family
    return None


def cpu_factor(memory_mb: int, cpu_bound: float, threads: int = 1) -> float:
    """How much longer (> 1) or shorter a handler runs at ``memory_mb`` than with one full
    vCPU: the CPU-bound share of its time scales with the vCPUs it can use (at most
    ``threads``), the rest (waiting on I/O) does not."""
    vcpus = min(memory_mb / MB_PER_VCPU, float(max(threads, 1)))
    return cpu_bound / vcpus + (1.0 - cpu_bound)


def cold_start_ms(runtime: str, extra_init_ms: float = 0.0) -> float:
    family = runtime_family(runtime)
    if family is None:
        raise ValueError(f"unknown Lambda runtime '{runtime}'")
    return PLATFORM_INIT_MS + RUNTIME_INIT_MS[family] + extra_init_ms


@dataclass
class Admission:
    cold: Bool
    throttled: Bool


@dataclass
class LambdaPool:
    """The execution environments of one function (or one alias)."""

    limit: int = DEFAULT_CONCURRENCY
    provisioned: int = 0
    idle_ns: int = 600 * NS
    envs: int = 0
    """Environments alive (idle or busy) at the start of the current chunk."""
    tokens: float = float(SCALE_BURST)
    """Scaling-rate budget: new environments that may be created now."""
    token_ns: int = 0
    """When ``tokens`` was last brought up to date."""
    cold_starts: int = 0
    throttled: int = 0
    peak_concurrency: int = 0
    _starts: F64 = field(default_factory=lambda: np.zeros(0))
    _ends: F64 = field(default_factory=lambda: np.zeros(0))
    _peaks: deque[tuple[int, int]] = field(default_factory=deque)
    _chunk_peak: int = 0

    def __post_init__(self) -> None:
        self.envs = max(self.envs, self.provisioned)

    def admit(
        self, t_ns: F64, duration_ns: F64, init_ns: float, *, count: Bool | None = None
    ) -> Admission:
        """Admit arrivals at ``t_ns`` (any order) whose handlers run ``duration_ns``; a cold
        start adds ``init_ns``. ``count`` marks the arrivals that enter the counters."""
        n = len(t_ns)
        if n == 0:
            z = np.zeros(0, dtype=bool)
            return Admission(z, z)
        order = np.argsort(t_ns, kind="stable")
        t = t_ns[order]
        d = duration_ns[order]
        # Fast pass: nobody throttled. Exact up to the first arrival that would exceed the
        # concurrency limit or the scaling budget; cold starts lengthen invocations, so the
        # concurrency is counted twice, the second time with the first pass's cold starts.
        prior = self._active(t)
        rank = np.arange(n)
        ends = t + d
        demand = prior + 1
        cold = np.zeros(n, dtype=bool)
        for _ in range(2):
            own = rank - np.searchsorted(np.sort(ends), t, "right")
            demand = prior + np.maximum(own, 0) + 1
            cold = demand > self._high_before(demand)
            ends = t + d + np.where(cold, init_ns, 0.0)
        over = demand > self._cap(t)
        v = int(np.argmax(over)) if over.any() else n
        throttled = np.zeros(n, dtype=bool)
        self._commit(t[:v], ends[:v], demand[:v], cold[:v])
        if v < n:
            cold[v:], throttled[v:] = self._blocked(t[v:], d[v:], init_ns)
        out_cold = np.empty(n, dtype=bool)
        out_thr = np.empty(n, dtype=bool)
        out_cold[order] = cold
        out_thr[order] = throttled
        if count is None:
            self.cold_starts += int(cold.sum())
            self.throttled += int(throttled.sum())
        else:
            self.cold_starts += int((out_cold & count).sum())
            self.throttled += int((out_thr & count).sum())
        return Admission(out_cold, out_thr)

    # ---- helpers of admit --------------------------------------------------------------
    def _active(self, t: F64) -> npt.NDArray[np.int64]:
        """Invocations admitted earlier that are running at each of ``t``."""
        started = np.searchsorted(np.sort(self._starts), t, "right")
        ended = np.searchsorted(np.sort(self._ends), t, "right")
        out: npt.NDArray[np.int64] = np.maximum(started - ended, 0)
        return out

    def _high_before(self, demand: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Environments that exist just before each arrival: the pool at the chunk's start
        or the highest concurrency reached before."""
        high = np.maximum.accumulate(demand)
        out: npt.NDArray[np.int64] = np.maximum(np.concatenate(([self.envs], high[:-1])), self.envs)
        return out

    def _cap(self, t: F64) -> F64:
        """Concurrency possible at ``t``: the limit, and the environments that exist plus
        those the scaling budget allows by then."""
        tokens = np.minimum(
            float(SCALE_BURST),
            self.tokens + SCALE_RATE_PER_S * np.maximum(t - self.token_ns, 0.0) / NS,
        )
        out: F64 = np.minimum(float(self.limit), np.floor(self.envs + tokens))
        return out

    def _commit(self, t: F64, ends: F64, demand: npt.NDArray[np.int64], cold: Bool) -> None:
        """Record admitted invocations: in flight until ``ends``; the pool and the scaling
        budget follow."""
        if len(t) == 0:
            return
        self._starts = np.concatenate((self._starts, t))
        self._ends = np.concatenate((self._ends, ends))
        peak = int(demand.max())
        self._chunk_peak = max(self._chunk_peak, peak)
        self.peak_concurrency = max(self.peak_concurrency, peak)
        self.envs = max(self.envs, peak)
        last = float(t[-1])
        refill = SCALE_RATE_PER_S * max(last - self.token_ns, 0.0) / NS
        self.tokens = max(0.0, min(float(SCALE_BURST), self.tokens + refill) - int(cold.sum()))
        self.token_ns = max(self.token_ns, int(last))

    def _blocked(self, t: F64, d: F64, init_ns: float) -> tuple[Bool, Bool]:
        """Arrivals from the first one that meets the limit on, in short blocks of time
        (a quarter of the median handler time): within a block, arrival *i* is admitted while
        the invocations running at ``t_i`` plus the block's earlier admissions are below the
        cap — a recurrence S₍ᵢ₊₁₎ = min(Sᵢ + 1, Fᵢ) solved with a cumulative minimum.
        Invocations of the block that end inside it are counted as running (the block is
        short against a handler's time). Returns (cold, throttled)."""
        n = len(t)
        cold = np.zeros(n, dtype=bool)
        throttled = np.zeros(n, dtype=bool)
        span = max(0.25 * float(np.median(d)), 1e6, float(t[-1] - t[0]) / 2000.0)
        count = int((t[-1] - t[0]) // span) + 2
        cuts = np.searchsorted(t, t[0] + span * np.arange(1, count), "left")
        a = 0
        for b in [*cuts.tolist(), n]:
            if b <= a:
                continue
            tb = t[a:b]
            keep = self._ends > tb[0]
            self._starts = self._starts[keep]
            self._ends = self._ends[keep]
            free = np.maximum(self._cap(tb) - self._active(tb), 0.0)
            k = np.arange(b - a)
            after = k + np.minimum(1.0, np.minimum.accumulate(free - k))
            before = np.concatenate(([0.0], after[:-1]))
            adm = after > before
            demand = np.where(adm, self._active(tb) + before + 1, 0).astype(np.int64)
            c = adm & (demand > self._high_before(demand))
            ends = tb + d[a:b] + np.where(c, init_ns, 0.0)
            self._commit(tb[adm], ends[adm], demand[adm], c[adm])
            cold[a:b] = c
            throttled[a:b] = ~adm
            a = b
        return cold, throttled

    def end_chunk(self, now_ns: int) -> None:
        """Forget invocations that ended by ``now_ns``; reclaim environments idle for longer
        than ``idle_ns`` (the pool keeps the peak concurrency of the last ``idle_ns``)."""
        keep = self._ends > now_ns
        self._starts = self._starts[keep]
        self._ends = self._ends[keep]
        self._peaks.append((now_ns, self._chunk_peak))
        self._chunk_peak = 0
        while self._peaks and self._peaks[0][0] <= now_ns - self.idle_ns:
            self._peaks.popleft()
        recent = max((p for _, p in self._peaks), default=0)
        self.envs = max(self.provisioned, recent, int(keep.sum()))
        self.tokens = min(
            float(SCALE_BURST), self.tokens + SCALE_RATE_PER_S * max(now_ns - self.token_ns, 0) / NS
        )
        self.token_ns = now_ns

    @property
    def in_flight(self) -> int:
        return len(self._ends)
