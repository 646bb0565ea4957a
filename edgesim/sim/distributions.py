"""Random distributions written in files: ``lognormal(median=40KB, sigma=1.2)``, ``zipf(0.9)``.

Values carry units: sizes (``40KB``) become bytes and durations (``12ms``) nanoseconds. Every
distribution samples with a caller's numpy Generator, so each component keeps its own stream.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from edgesim.units import parse_duration_ns, parse_size_bytes

FloatArray = npt.NDArray[np.float64]
_CALL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.IGNORECASE)


def _split_args(text: str) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    kw: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "=" in part:
            k, _, v = part.partition("=")
            kw[k.strip().lower()] = v.strip()
        else:
            pos.append(part)
    return pos, kw


@dataclass(frozen=True)
class Dist:
    """A distribution of a quantity in base units (bytes or nanoseconds)."""

    kind: str
    params: dict[str, float]
    text: str = field(compare=False)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        p = self.params
        if self.kind == "fixed":
            return np.full(n, p["value"])
        if self.kind == "lognormal":
            return np.asarray(rng.lognormal(math.log(p["median"]), p["sigma"], n), dtype=np.float64)
        if self.kind == "exponential":
            return np.asarray(rng.exponential(p["mean"], n), dtype=np.float64)
        if self.kind == "uniform":
            return np.asarray(rng.uniform(p["low"], p["high"], n), dtype=np.float64)
        if self.kind == "gamma":
            shape = p["shape"]
            return np.asarray(rng.gamma(shape, p["mean"] / shape, n), dtype=np.float64)
        if self.kind == "pareto":  # Lomax shifted to start at the minimum
            return np.asarray(p["min"] * (1.0 + rng.pareto(p["alpha"], n)), dtype=np.float64)
        raise AssertionError(self.kind)  # pragma: no cover - parse() admits only these

    @property
    def mean(self) -> float:
        p = self.params
        return {
            "fixed": lambda: p["value"],
            "lognormal": lambda: p["median"] * math.exp(p["sigma"] ** 2 / 2),
            "exponential": lambda: p["mean"],
            "uniform": lambda: (p["low"] + p["high"]) / 2,
            "gamma": lambda: p["mean"],
            "pareto": lambda: (
                p["min"] * p["alpha"] / (p["alpha"] - 1) if p["alpha"] > 1 else math.inf
            ),
        }[self.kind]()

    def __str__(self) -> str:
        return self.text


_FORMS = {
    "fixed": "fixed(2KB)",
    "lognormal": "lognormal(median=40KB, sigma=1.2)",
    "exponential": "exponential(mean=10ms)",
    "uniform": "uniform(low=1KB, high=10KB)",
    "gamma": "gamma(mean=10ms, shape=2)",
    "pareto": "pareto(min=1KB, alpha=1.5)",
}


_DURATION_FORMS = {
    "fixed": "fixed(5ms)",
    "lognormal": "lognormal(median=12ms, sigma=0.5)",
    "exponential": "exponential(mean=10ms)",
    "uniform": "uniform(low=1ms, high=10ms)",
    "gamma": "gamma(mean=10ms, shape=2)",
    "pareto": "pareto(min=1ms, alpha=1.5)",
}


def parse_dist(value: Any, unit: Callable[[Any], int], what: str) -> Dist:
    """Parse a distribution whose values are in ``unit`` (a size or duration parser)."""
    if isinstance(value, Dist):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Dist("fixed", {"value": float(unit(value))}, str(value))
    if not isinstance(value, str):
        raise ValueError(f"cannot read {value!r} as a {what} distribution")
    m = _CALL.match(value)
    if not m:
        try:
            return Dist("fixed", {"value": float(unit(value))}, value)
        except ValueError:
            forms = _FORMS if what == "size" else _DURATION_FORMS
            raise ValueError(
                f"cannot read {value!r} as a {what} distribution; expected one of: "
                + ", ".join(forms.values())
            ) from None
    kind = m.group(1).lower()
    pos, kw = _split_args(m.group(2))
    try:
        if kind == "fixed" and len(pos) == 1:
            params = {"value": float(unit(pos[0]))}
        elif kind == "lognormal":
            params = {"median": float(unit(kw["median"])), "sigma": float(kw["sigma"])}
            if params["sigma"] < 0 or params["median"] <= 0:
                raise ValueError
        elif kind == "exponential":
            params = {"mean": float(unit(kw["mean"]))}
        elif kind == "uniform":
            params = {"low": float(unit(kw["low"])), "high": float(unit(kw["high"]))}
            if params["high"] < params["low"]:
                raise ValueError
        elif kind == "gamma":
            params = {"mean": float(unit(kw["mean"])), "shape": float(kw["shape"])}
            if params["shape"] <= 0:
                raise ValueError
        elif kind == "pareto":
            params = {"min": float(unit(kw["min"])), "alpha": float(kw["alpha"])}
            if params["alpha"] <= 0 or params["min"] <= 0:
                raise ValueError
        else:
            raise KeyError(kind)
        if not all(math.isfinite(v) for v in params.values()):
            raise ValueError
    except (KeyError, ValueError, IndexError):
        forms = _FORMS if what == "size" else _DURATION_FORMS
        form = forms.get(kind)
        expected = form if form else "one of: " + ", ".join(forms.values())
        raise ValueError(
            f"cannot read {value!r} as a {what} distribution; expected {expected}"
        ) from None
    return Dist(kind, params, value)


@dataclass(frozen=True)
class Popularity:
    """Which objects are asked for: ``zipf(alpha)`` or ``uniform``."""

    kind: str
    alpha: float
    text: str = field(compare=False)

    def cdf(self, count: int) -> FloatArray:
        """Cumulative probability of object ids 0..count-1 (id 0 the most popular)."""
        ranks = np.arange(1, count + 1, dtype=np.float64)
        weights = ranks ** (-self.alpha) if self.kind == "zipf" else np.ones(count)
        c = np.cumsum(weights)
        out: FloatArray = c / c[-1]
        return out

    def __str__(self) -> str:
        return self.text


def parse_popularity(value: Any) -> Popularity:
    if isinstance(value, Popularity):
        return value
    if isinstance(value, str):
        if value.strip().lower() == "uniform":
            return Popularity("uniform", 0.0, value)
        m = _CALL.match(value)
        if m and m.group(1).lower() == "zipf":
            pos, kw = _split_args(m.group(2))
            try:
                alpha = float(pos[0] if pos else kw["alpha"])
            except (KeyError, ValueError, IndexError):
                alpha = -1.0
            if 0.0 <= alpha <= 5.0:
                return Popularity("zipf", alpha, value)
    raise ValueError(f"cannot read {value!r} as a popularity; expected zipf(0.9) or uniform")


def _schema(example: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [{"type": "string", "examples": [example]}, {"type": "number"}]}
    )


SizeDist = Annotated[
    Dist,
    BeforeValidator(lambda v: parse_dist(v, parse_size_bytes, "size")),
    PlainSerializer(str, return_type=str),
    _schema("lognormal(median=40KB, sigma=1.2)"),
]
DurationDist = Annotated[
    Dist,
    BeforeValidator(lambda v: parse_dist(v, parse_duration_ns, "duration")),
    PlainSerializer(str, return_type=str),
    _schema("lognormal(median=12ms, sigma=0.5)"),
]
PopularitySpec = Annotated[
    Popularity,
    BeforeValidator(parse_popularity),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["zipf(0.9)", "uniform"]}),
]
