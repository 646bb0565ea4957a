"""Distributions and popularity written in files (edgesim.sim.distributions).

Sampling is checked against textbook statistics with fixed seeds and tolerances of many
standard errors; means against closed forms computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from edgesim.sim.distributions import (
    Dist,
    DurationDist,
    Popularity,
    PopularitySpec,
    SizeDist,
    parse_dist,
    parse_popularity,
)
from edgesim.units import parse_duration_ns, parse_size_bytes

MS = 1_000_000
N = 200_000


def size(text: object) -> Dist:
    return parse_dist(text, parse_size_bytes, "size")


def duration(text: object) -> Dist:
    return parse_dist(text, parse_duration_ns, "duration")


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "kind", "params"),
    [
        ("lognormal(median=40KB, sigma=1.2)", "lognormal", {"median": 40_000.0, "sigma": 1.2}),
        ("LogNormal( sigma = 0.5 , median = 1KiB )", "lognormal", {"median": 1024, "sigma": 0.5}),
        ("fixed(2KB)", "fixed", {"value": 2000.0}),
        ("2KB", "fixed", {"value": 2000.0}),
        ("uniform(low=1KB, high=10KB)", "uniform", {"low": 1000.0, "high": 10_000.0}),
        ("pareto(min=1KB, alpha=1.5)", "pareto", {"min": 1000.0, "alpha": 1.5}),
        (512, "fixed", {"value": 512.0}),
    ],
)
def test_parse_size_distributions(text: object, kind: str, params: dict[str, float]) -> None:
    d = size(text)
    assert d.kind == kind
    assert d.params == pytest.approx(params)
    assert str(d) == str(text)


@pytest.mark.parametrize(
    ("text", "kind", "params"),
    [
        ("exponential(mean=10ms)", "exponential", {"mean": 10 * MS}),
        ("gamma(mean=10ms, shape=2)", "gamma", {"mean": 10 * MS, "shape": 2.0}),
        ("lognormal(median=12ms, sigma=0.5)", "lognormal", {"median": 12 * MS, "sigma": 0.5}),
        ("uniform(low=1ms, high=1s)", "uniform", {"low": MS, "high": 1000 * MS}),
        ("fixed(250us)", "fixed", {"value": 250_000}),
        ("1.5s", "fixed", {"value": 1500 * MS}),
    ],
)
def test_parse_duration_distributions(text: str, kind: str, params: dict[str, float]) -> None:
    d = duration(text)
    assert d.kind == kind
    assert d.params == pytest.approx(params)


def test_parse_passes_through_a_dist() -> None:
    d = size("fixed(2KB)")
    assert size(d) is d


@pytest.mark.parametrize(
    ("text", "expected_form"),
    [
        ("lognormal(median=40KB)", "lognormal(median=40KB, sigma=1.2)"),
        ("lognormal(median=40KB, sigma=-1)", "lognormal(median=40KB, sigma=1.2)"),
        ("lognormal(median=0KB, sigma=1)", "lognormal(median=40KB, sigma=1.2)"),
        ("lognormal(median=40 parsecs, sigma=1)", "lognormal(median=40KB, sigma=1.2)"),
        ("lognormal(median=40KB, sigma=wide)", "lognormal(median=40KB, sigma=1.2)"),
        ("fixed()", "fixed(2KB)"),
        ("fixed(1KB, 2KB)", "fixed(2KB)"),
        ("uniform(low=10KB, high=1KB)", "uniform(low=1KB, high=10KB)"),
        ("uniform(low=1KB)", "uniform(low=1KB, high=10KB)"),
        ("pareto(min=1KB, alpha=0)", "pareto(min=1KB, alpha=1.5)"),
        ("pareto(min=1KB)", "pareto(min=1KB, alpha=1.5)"),
        ("gamma(mean=1KB, shape=0)", "gamma(mean=10ms, shape=2)"),
        ("exponential(10KB)", "exponential(mean=10ms)"),
    ],
)
def test_parse_errors_name_the_expected_form(text: str, expected_form: str) -> None:
    with pytest.raises(ValueError, match="as a size distribution") as exc:
        size(text)
    msg = str(exc.value)
    assert repr(text) in msg
    assert f"expected {expected_form}" in msg


@pytest.mark.parametrize("text", ["weibull(k=1.5)", "40 parsecs", "lognormal", ""])
def test_unknown_forms_list_every_form(text: str) -> None:
    with pytest.raises(ValueError, match="expected one of") as exc:
        size(text)
    msg = str(exc.value)
    for form in ("fixed(2KB)", "lognormal(median=40KB, sigma=1.2)", "exponential(mean=10ms)"):
        assert form in msg


@pytest.mark.parametrize("bad", [None, [1, 2], True])
def test_parse_rejects_other_types(bad: object) -> None:
    with pytest.raises(ValueError, match="size distribution"):
        size(bad)


def test_duration_distributions_need_units() -> None:
    with pytest.raises(ValueError, match=r"expected exponential\(mean=10ms\)"):
        duration("exponential(mean=10)")
    with pytest.raises(ValueError, match="needs a unit"):
        duration(5)


@pytest.mark.parametrize(
    "text",
    [
        "lognormal(median=40KB, sigma=nan)",
        "gamma(mean=1KB, shape=nan)",
        "pareto(min=1KB, alpha=nan)",
    ],
)
def test_nan_parameters_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        size(text)


# ---------------------------------------------------------------------------- sampling


def test_fixed_samples_the_value() -> None:
    s = size("fixed(2KB)").sample(np.random.default_rng(0), 10)
    assert s.shape == (10,)
    assert np.all(s == 2000.0)
    assert size("2KB").mean == 2000.0


def test_lognormal_sample_median_and_log_sd() -> None:
    d = size("lognormal(median=40KB, sigma=1.2)")
    s = d.sample(np.random.default_rng(1), N)
    assert s.shape == (N,)
    assert np.all(s > 0)
    # the sample median of a lognormal is within a couple of % of the median parameter
    assert np.median(s) == pytest.approx(40_000, rel=0.02)
    assert np.std(np.log(s)) == pytest.approx(1.2, rel=0.01)
    # mean = median * exp(sigma^2 / 2), by hand
    assert d.mean == pytest.approx(40_000 * math.exp(0.72))
    # heavy tail: compare the mean on the log scale (less noisy than the raw mean)
    assert np.mean(np.log(s)) == pytest.approx(math.log(40_000), abs=0.01)


def test_exponential_sample_mean() -> None:
    d = duration("exponential(mean=10ms)")
    s = d.sample(np.random.default_rng(2), N)
    assert d.mean == 10 * MS
    assert s.mean() == pytest.approx(10 * MS, rel=0.01)  # SE = 0.22 %
    assert s.std() == pytest.approx(10 * MS, rel=0.02)
    assert s.min() >= 0


def test_uniform_sample() -> None:
    d = size("uniform(low=1KB, high=10KB)")
    s = d.sample(np.random.default_rng(3), N)
    assert s.min() >= 1000
    assert s.max() <= 10_000
    assert d.mean == 5500
    assert s.mean() == pytest.approx(5500, rel=0.01)


@pytest.mark.parametrize("shape", [0.5, 2.0, 9.0])
def test_gamma_sample_mean_and_variance(shape: float) -> None:
    d = duration(f"gamma(mean=10ms, shape={shape})")
    s = d.sample(np.random.default_rng(4), N)
    assert d.mean == 10 * MS
    assert s.mean() == pytest.approx(10 * MS, rel=0.015)
    # variance of a gamma with this mean and shape: mean^2 / shape
    assert s.var() == pytest.approx((10 * MS) ** 2 / shape, rel=0.06)


@pytest.mark.parametrize("alpha", [1.5, 2.5, 4.0])
def test_pareto_sample_minimum_and_tail(alpha: float) -> None:
    d = size(f"pareto(min=1KB, alpha={alpha})")
    s = d.sample(np.random.default_rng(5), N)
    assert s.min() >= 1000
    assert s.min() == pytest.approx(1000, rel=0.01)
    # survival of a Pareto(x_m, alpha): P(X > x) = (x_m / x)^alpha
    for x in (2000, 5000):
        assert np.mean(s > x) == pytest.approx((1000 / x) ** alpha, rel=0.06, abs=1e-3)
    # median: x_m * 2^(1/alpha)
    assert np.median(s) == pytest.approx(1000 * 2 ** (1 / alpha), rel=0.01)
    assert d.mean == pytest.approx(1000 * alpha / (alpha - 1))


def test_pareto_mean_is_infinite_for_alpha_at_most_one() -> None:
    assert size("pareto(min=1KB, alpha=1)").mean == math.inf
    assert size("pareto(min=1KB, alpha=0.8)").mean == math.inf


def test_sampling_uses_the_callers_generator() -> None:
    d = size("lognormal(median=40KB, sigma=1.2)")
    a = d.sample(np.random.default_rng(7), 100)
    b = d.sample(np.random.default_rng(7), 100)
    c = d.sample(np.random.default_rng(8), 100)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_equality_ignores_spelling() -> None:
    assert size("fixed(2KB)") == size("2000")
    assert size("lognormal(median=40KB, sigma=1.2)") == size("lognormal(sigma=1.2,median=40000)")


# ---------------------------------------------------------------------------- popularity


@pytest.mark.parametrize(
    ("text", "kind", "alpha"),
    [
        ("zipf(0.9)", "zipf", 0.9),
        ("Zipf(alpha=1.2)", "zipf", 1.2),
        ("zipf(0)", "zipf", 0.0),
        ("zipf(5)", "zipf", 5.0),
        ("uniform", "uniform", 0.0),
        (" Uniform ", "uniform", 0.0),
    ],
)
def test_parse_popularity(text: str, kind: str, alpha: float) -> None:
    p = parse_popularity(text)
    assert (p.kind, p.alpha) == (kind, alpha)
    assert parse_popularity(p) is p


@pytest.mark.parametrize(
    "bad", ["zipf(-0.1)", "zipf(5.1)", "zipf()", "zipf(x)", "pareto(1)", "hot", 0.9, None]
)
def test_parse_popularity_errors(bad: object) -> None:
    with pytest.raises(ValueError, match=r"expected zipf\(0\.9\) or uniform"):
        parse_popularity(bad)


@given(
    alpha=st.floats(min_value=0.0, max_value=5.0),
    count=st.integers(min_value=1, max_value=5000),
)
def test_zipf_cdf_is_monotone_and_ends_at_one(alpha: float, count: int) -> None:
    cdf = Popularity("zipf", alpha, "zipf").cdf(count)
    assert cdf.shape == (count,)
    assert np.all(np.diff(cdf) >= 0)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-12)
    assert cdf[0] > 0
    # rank 1 carries 1 / sum_k k^-alpha, computed here with math.fsum
    h = math.fsum(k**-alpha for k in range(1, count + 1))
    assert cdf[0] == pytest.approx(1 / h, rel=1e-9)


@pytest.mark.parametrize("n", [1, 10, 1000])
def test_zipf_one_first_rank_is_one_over_harmonic_number(n: int) -> None:
    cdf = parse_popularity("zipf(1)").cdf(n)
    harmonic = sum(1 / k for k in range(1, n + 1))
    assert cdf[0] == pytest.approx(1 / harmonic, rel=1e-12)
    if n >= 2:
        # P(rank 2) = (1/2) / H_n
        assert cdf[1] - cdf[0] == pytest.approx(0.5 / harmonic, rel=1e-9)


def test_uniform_popularity_cdf_is_linear() -> None:
    cdf = parse_popularity("uniform").cdf(4)
    assert cdf == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_zipf_zero_equals_uniform() -> None:
    assert parse_popularity("zipf(0)").cdf(50) == pytest.approx(parse_popularity("uniform").cdf(50))


# ---------------------------------------------------------------------------- pydantic types


class _Workload(BaseModel):
    size: SizeDist
    think: DurationDist
    popularity: PopularitySpec


def test_annotated_types_in_a_model() -> None:
    w = _Workload(
        size="lognormal(median=40KB, sigma=1.2)",
        think="exponential(mean=10ms)",
        popularity="zipf(0.9)",
    )
    assert w.size.params == {"median": 40_000.0, "sigma": 1.2}
    assert w.think.params == {"mean": 10 * MS}
    assert w.popularity.alpha == 0.9
    dumped = w.model_dump(mode="json")
    assert dumped == {
        "size": "lognormal(median=40KB, sigma=1.2)",
        "think": "exponential(mean=10ms)",
        "popularity": "zipf(0.9)",
    }
    assert _Workload.model_validate(dumped) == w


def test_model_reports_bad_distribution() -> None:
    with pytest.raises(ValidationError, match=r"expected lognormal\(median=40KB, sigma=1.2\)"):
        _Workload(size="lognormal(median=40KB)", think="1ms", popularity="uniform")
