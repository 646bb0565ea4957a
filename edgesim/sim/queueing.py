"""Waiting time at a pool of servers: M/M/c (Erlang C) below saturation, a growing backlog
above it (no I/O, vectorised).

Each chunk of simulated time the engine measures an endpoint's arrival rate λ and the mean
service time 1/μ; with ``c`` servers and utilisation ρ = λ / (cμ):

* ρ < 1: a request waits with probability C(c, λ/μ) (Erlang C), and the wait is then
  exponential with rate cμ − λ — so latency rises steeply as load approaches capacity;
* ρ ≥ 1: work piles up at (λ − cμ) requests per second; a request arriving τ seconds into the
  chunk waits (Q₀ + (λ − cμ)·τ) / (cμ), where Q₀ is the backlog carried over. Requests that
  would wait longer than the timeout are rejected (and do not join the queue), which bounds
  the backlog at timeout × cμ; while it is full, the servers still admit cμ requests a second
  (each waiting the whole timeout) and the rest are turned away.

A backlog left by an overload drains at cμ − λ once load falls again. This replaces the
constant service time under overload that other simulators are criticised for (YAFS#67).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def erlang_c(c: int, offered_load: float) -> float:
    """Probability that an arrival waits, for ``c`` servers and offered load ``a = λ/μ``."""
    if c <= 0:
        return 1.0
    if offered_load <= 0:
        return 0.0
    if offered_load >= c:
        return 1.0
    if offered_load < c - 10.0 * math.sqrt(c) - 10.0:
        return 0.0  # more than 10 standard deviations of spare servers: below 1e-20
    # Stable recurrence for the Erlang B formula, then convert to C.
    b = 1.0
    for k in range(1, c + 1):
        b = offered_load * b / (k + offered_load * b)
    rho = offered_load / c
    return b / (1.0 - rho + rho * b)


@dataclass
class ServerPool:
    """``servers`` identical servers with one FIFO queue; state is the backlog (requests)."""

    servers: int
    timeout_s: float
    backlog: float = 0.0

    def waits_s(
        self,
        offsets_s: F64,
        chunk_s: float,
        mean_service_s: float,
        rng: np.random.Generator,
        *,
        arrival_rate: float | None = None,
        commit: bool = True,
    ) -> tuple[F64, npt.NDArray[np.bool_]]:
        """Queueing delay (s) for arrivals at ``offsets_s`` into a chunk of ``chunk_s`` seconds,
        and which of them are rejected for waiting longer than the timeout.

        ``arrival_rate`` (requests/s) is the pool's whole load in the chunk when these arrivals
        are only part of it (default: these arrivals alone); with ``commit=False`` the backlog
        is left for :meth:`end_chunk` to update once all of the chunk's arrivals are known.
        """
        n = len(offsets_s)
        c = max(self.servers, 1)
        mu = 1.0 / max(mean_service_s, 1e-9)
        capacity = c * mu
        lam = arrival_rate if arrival_rate is not None else (n / chunk_s if chunk_s > 0 else 0.0)
        excess = lam - capacity  # requests/s added to the backlog
        limit = self.timeout_s * capacity  # a fuller queue turns arrivals away
        uncapped = np.maximum(self.backlog + excess * offsets_s, 0.0)
        # Turned-away requests never join the queue: the backlog stops growing at the limit,
        # where the servers still take `capacity` requests a second, so that share of the
        # arrivals is admitted (waiting the whole timeout) and the rest is turned away.
        full = uncapped >= limit
        waits = np.minimum(uncapped, limit) / capacity
        if full.any():
            turned_away = full & (rng.random(n) >= capacity / max(lam, 1e-12))
            waits = np.where(
                turned_away,
                np.maximum(uncapped / capacity, self.timeout_s) * (1 + 1e-9) + 1e-12,
                waits,
            )
        if lam < capacity and n:
            p_wait = erlang_c(c, lam / mu)
            stochastic = np.where(
                rng.random(n) < p_wait, rng.exponential(1.0 / (capacity - lam), n), 0.0
            )
            waits = waits + stochastic
        rejected = waits > self.timeout_s
        if commit:
            self.backlog = min(max(self.backlog + excess * chunk_s, 0.0), limit)
        return waits, rejected

    def end_chunk(self, arrivals: int, chunk_s: float, mean_service_s: float) -> None:
        """Carry the backlog over a chunk in which ``arrivals`` requests came in all told."""
        capacity = max(self.servers, 1) * (1.0 / max(mean_service_s, 1e-9))
        lam = arrivals / chunk_s if chunk_s > 0 else 0.0
        self.backlog = min(
            max(self.backlog + (lam - capacity) * chunk_s, 0.0), self.timeout_s * capacity
        )

    @staticmethod
    def mean_wait_mmc_s(c: int, lam: float, mean_service_s: float) -> float:
        """Mean M/M/c queueing delay (for tests and docs)."""
        mu = 1.0 / mean_service_s
        if lam >= c * mu:
            return math.inf
        return erlang_c(c, lam / mu) / (c * mu - lam)
