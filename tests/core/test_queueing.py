"""Waiting at a server pool (edgesim.sim.queueing): Erlang C against its closed form, M/M/c
waits by simulation with fixed seeds, and the overload backlog."""

from __future__ import annotations

import math
from fractions import Fraction as Q

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgesim.sim.queueing import ServerPool, erlang_c


def erlang_c_closed_form(c: int, a: float | Q) -> float:
    """P_w = (a^c/c!)(c/(c-a)) / (sum_{k<c} a^k/k! + (a^c/c!)(c/(c-a)))."""
    top = a**c / math.factorial(c) * (c / (c - a))
    return float(top / (sum(a**k / math.factorial(k) for k in range(c)) + top))


def uniform_offsets(rng: np.random.Generator, n: int, chunk_s: float = 1.0) -> np.ndarray:
    return np.sort(rng.uniform(0.0, chunk_s, n))


# ---------------------------------------------------------------------------- Erlang C


@pytest.mark.parametrize("rho", [0.01, 0.3, 0.5, 0.9, 0.999])
def test_single_server_waits_with_probability_rho(rho: float) -> None:
    assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)


def test_textbook_values() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    # c = 2, a = 1.5: top = 1.125 * 4 = 4.5; sum = 1 + 1.5 = 2.5; P_w = 4.5 / 7 = 9/14
    assert erlang_c(2, 1.5) == pytest.approx(9 / 14, rel=1e-12)
    # c = 3, a = 2: top = (8/6) * 3 = 4; sum = 1 + 2 + 2 = 5; P_w = 4/9
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)
    # c = 10, a = 8: the standard call-centre table value 0.409
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=5e-4)


@settings(max_examples=200, deadline=None)
@given(c=st.integers(min_value=1, max_value=60), rho=st.floats(min_value=0.001, max_value=0.999))
def test_matches_closed_form(c: int, rho: float) -> None:
    a = rho * c
    assert erlang_c(c, a) == pytest.approx(erlang_c_closed_form(c, a), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("c", "a"), [(200, 150), (400, 191), (400, 390), (1000, 950)])
def test_matches_exact_closed_form_for_many_servers(c: int, a: int) -> None:
    assert erlang_c(c, a) == pytest.approx(erlang_c_closed_form(c, Q(a)), rel=1e-9)


def test_far_below_capacity_is_negligible() -> None:
    # 10 standard deviations of spare servers: the exact value is far below 1e-20
    assert erlang_c(1000, 600) == 0.0
    assert erlang_c_closed_form(1000, Q(600)) < 1e-20
    assert erlang_c(400, 100) <= 1e-20


def test_edge_cases() -> None:
    assert erlang_c(4, 0.0) == 0.0
    assert erlang_c(4, -1.0) == 0.0
    assert erlang_c(4, 4.0) == 1.0
    assert erlang_c(4, 9.0) == 1.0
    assert erlang_c(0, 0.5) == 1.0


@given(c=st.integers(min_value=1, max_value=80), a=st.floats(min_value=0, max_value=100))
def test_is_a_probability_increasing_in_load(c: int, a: float) -> None:
    p = erlang_c(c, a)
    assert 0.0 <= p <= 1.0
    assert erlang_c(c, a * 1.05 + 0.01) >= p
    # one more server never makes waiting likelier
    assert erlang_c(c + 1, a) <= p


def test_mean_wait_mmc_formula() -> None:
    # c = 2, mean service 0.1 s (mu = 10/s), lambda = 10/s: a = 1, P_w = 1/3,
    # W_q = P_w / (c mu - lambda) = (1/3) / 10 s
    assert ServerPool.mean_wait_mmc_s(2, 10.0, 0.1) == pytest.approx(1 / 30)
    # M/M/1: W_q = rho / (mu - lambda) = 0.5 / 5
    assert ServerPool.mean_wait_mmc_s(1, 5.0, 0.1) == pytest.approx(0.1)
    assert ServerPool.mean_wait_mmc_s(2, 20.0, 0.1) == math.inf
    assert ServerPool.mean_wait_mmc_s(2, 25.0, 0.1) == math.inf


# ---------------------------------------------------------------------------- below capacity


def simulate(pool: ServerPool, lam: float, chunks: int, service_s: float, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    waits, rejected = [], []
    for _ in range(chunks):
        w, r = pool.waits_s(uniform_offsets(rng, int(lam)), 1.0, service_s, rng)
        waits.append(w)
        rejected.append(r)
    return np.concatenate(waits), np.concatenate(rejected)


@pytest.mark.parametrize(("c", "lam"), [(1, 50.0), (4, 300.0), (4, 380.0), (16, 1400.0)])
def test_light_load_mean_wait_matches_mmc(c: int, lam: float) -> None:
    service = 0.01  # mu = 100/s per server
    pool = ServerPool(c, timeout_s=1e6)
    waits, rejected = simulate(pool, lam, 300, service, seed=c)
    assert not rejected.any()
    assert pool.backlog == 0.0
    expected = ServerPool.mean_wait_mmc_s(c, lam, service)
    # the wait is 0 or Exp(c mu - lambda): SE of the mean < 1 % here; allow 5 %
    assert waits.mean() == pytest.approx(expected, rel=0.05)
    assert np.mean(waits > 0) == pytest.approx(erlang_c(c, lam * service), abs=0.01)
    positive = waits[waits > 0]
    assert positive.mean() == pytest.approx(1 / (c / service - lam), rel=0.05)


def test_waits_grow_with_load() -> None:
    means = []
    for lam in (100.0, 200.0, 300.0, 380.0):
        waits, _ = simulate(ServerPool(4, timeout_s=1e6), lam, 100, 0.01, seed=1)
        means.append(waits.mean())
    assert means == sorted(means)
    assert len(set(means)) == len(means)
    assert means[-1] > 100 * means[0]


def test_no_arrivals_no_waits() -> None:
    pool = ServerPool(2, timeout_s=1.0)
    w, r = pool.waits_s(np.array([]), 1.0, 0.01, np.random.default_rng(0))
    assert w.shape == (0,)
    assert r.shape == (0,)
    assert pool.backlog == 0.0


# ---------------------------------------------------------------------------- overload


def test_overload_backlog_grows_across_chunks_and_waits_grow_within() -> None:
    c, service = 2, 0.01  # capacity 200/s
    pool = ServerPool(c, timeout_s=1e6)
    rng = np.random.default_rng(0)
    previous_last = -1.0
    for k in range(1, 6):
        offsets = uniform_offsets(rng, 400)  # lambda = 400/s: 200/s more than capacity
        w, r = pool.waits_s(offsets, 1.0, service, rng)
        assert not r.any()
        # a request tau s into the chunk waits (Q0 + (lambda - c mu) tau) / (c mu)
        q0 = 200.0 * (k - 1)
        assert w == pytest.approx((q0 + 200.0 * offsets) / 200.0)
        assert np.all(np.diff(w) >= 0)
        assert w[0] >= previous_last - 0.01
        previous_last = w[-1]
        assert pool.backlog == pytest.approx(200.0 * k)


def test_timeouts_reject_and_bound_the_backlog() -> None:
    timeout, capacity = 2.0, 100.0
    pool = ServerPool(1, timeout_s=timeout)
    rng = np.random.default_rng(1)
    saw_rejection = False
    for _ in range(10):
        w, r = pool.waits_s(uniform_offsets(rng, 300), 1.0, 0.01, rng)
        assert np.array_equal(r, w > timeout)
        saw_rejection |= bool(r.any())
        assert 0.0 <= pool.backlog <= timeout * capacity + 1e-9
    assert saw_rejection


@settings(max_examples=60, deadline=None)
@given(
    loads=st.lists(st.integers(min_value=0, max_value=2000), min_size=1, max_size=12),
    servers=st.integers(min_value=1, max_value=8),
    timeout=st.floats(min_value=0.01, max_value=30.0),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_backlog_always_within_bounds(
    loads: list[int], servers: int, timeout: float, seed: int
) -> None:
    pool = ServerPool(servers, timeout_s=timeout)
    rng = np.random.default_rng(seed)
    for n in loads:
        w, r = pool.waits_s(uniform_offsets(rng, n), 1.0, 0.01, rng)
        assert w.shape == r.shape == (n,)
        assert np.all(w >= 0)
        assert np.array_equal(r, w > timeout)
        assert 0.0 <= pool.backlog <= timeout * servers * 100.0 * (1 + 1e-12)


def test_sustained_overload_keeps_the_queue_full_and_servers_busy() -> None:
    timeout, capacity = 0.1, 100.0  # one server, 10 ms service; chunk 1 s > timeout
    pool = ServerPool(1, timeout_s=timeout)
    rng = np.random.default_rng(2)
    admitted = []
    for _ in range(5):
        _, r = pool.waits_s(uniform_offsets(rng, 300), 1.0, 0.01, rng)
        admitted.append(int((~r).sum()))
    # the queue is full (bounded at timeout x c mu = 10 requests), not empty
    assert pool.backlog >= 0.5 * timeout * capacity
    # and the server never idles, so about c mu x chunk = 100 requests get through per chunk
    assert min(admitted[1:]) >= 0.8 * capacity


def test_backlog_drains_after_load_drops() -> None:
    pool = ServerPool(1, timeout_s=1e6)  # capacity 100/s
    rng = np.random.default_rng(3)
    for _ in range(5):
        pool.waits_s(uniform_offsets(rng, 200), 1.0, 0.01, rng)
    assert pool.backlog == pytest.approx(500.0)
    # lambda = 50/s: the backlog falls at c mu - lambda = 50 requests a second
    offsets = uniform_offsets(rng, 50)
    w, _ = pool.waits_s(offsets, 1.0, 0.01, rng)
    assert pool.backlog == pytest.approx(450.0)
    # the deterministic part of each wait is what is left of the backlog at arrival
    assert np.all(w >= (500.0 - 50.0 * offsets) / 100.0 - 1e-12)
    assert w[0] == pytest.approx(5.0, abs=0.2)
    backlogs = [pool.backlog]
    for _ in range(12):
        pool.waits_s(uniform_offsets(rng, 50), 1.0, 0.01, rng)
        backlogs.append(pool.backlog)
    assert backlogs == sorted(backlogs, reverse=True)
    assert backlogs[-1] == 0.0
    # 450 requests at 50 a second: empty after exactly 9 more chunks
    assert backlogs[:10] == pytest.approx([450.0 - 50.0 * k for k in range(10)])


def test_idle_chunk_drains_at_capacity() -> None:
    pool = ServerPool(3, timeout_s=1e6, backlog=1000.0)
    pool.waits_s(np.array([]), 2.0, 0.01, np.random.default_rng(0))
    # 3 servers x 100/s x 2 s = 600 requests served
    assert pool.backlog == pytest.approx(400.0)
