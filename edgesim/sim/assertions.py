"""``assertions:`` in scenario files: parse at load time, evaluate after the run.

Grammar: ``FUNCTION(ARGS) OP VALUE`` where ARGS are an optional positional metric and
``key=value`` filters, OP is one of < <= > >= ==, and VALUE may carry a unit (``150ms``,
``2s``, ``99.9%``). Examples::

    p99(latency, group=tokyo) < 150ms
    p95(dns, workload=web) <= 40ms
    availability(workload=api) >= 99.5%
    error_rate() < 1%
    hit_ratio(distribution=site) >= 0.9
    failover_time(record=app.example.com) <= 120s
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from edgesim.units import parse_duration_ns, parse_fraction

PERCENTILES: dict[str, float] = {
    "p50": 50.0,
    "p90": 90.0,
    "p95": 95.0,
    "p99": 99.0,
    "p999": 99.9,
    "median": 50.0,
}
LATENCY_FUNCS = (*PERCENTILES, "mean", "max")
METRICS = ("latency", "dns", "connect", "tls", "wait", "transfer")
ENGINE_FILTERS = ("group", "workload", "segment")
RATIO_FUNCS = ("availability", "error_rate")
DURATION_FUNCS = ("failover_time",)
COUNT_FUNCS = ("requests",)

OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
_RE = re.compile(
    r"^\s*([a-z_][a-z0-9_]*)\s*\(([^()]*)\)\s*(<=|>=|==|<|>)\s*([^\s]+(?:\s*[a-zA-Z%]+)?)\s*$"
)


@dataclass(frozen=True)
class Assertion:
    text: str
    func: str
    metric: str | None
    filters: dict[str, str]
    op: str
    value: float
    """Threshold in the function's unit: ms for latency, fraction for ratios, s for times."""

    def holds(self, actual: float) -> bool:
        return OPS[self.op](actual, self.value)


class AssertionSyntaxError(ValueError):
    pass


def parse_assertion(text: str, service_funcs: dict[str, str]) -> Assertion:
    """Parse one assertion. ``service_funcs`` maps extra function names to their value kind
    ("ratio", "duration" or "count")."""
    m = _RE.match(text)
    if not m:
        raise AssertionSyntaxError(
            "cannot read this assertion; expected FUNCTION(ARGS) OP VALUE, "
            "e.g. p99(latency, group=tokyo) < 150ms"
        )
    func, args, op, raw = m.groups()
    metric: str | None = None
    filters: dict[str, str] = {}
    for part in (a.strip() for a in args.split(",")):
        if not part:
            continue
        if "=" in part:
            k, _, v = part.partition("=")
            filters[k.strip()] = v.strip()
        elif metric is None:
            metric = part
        else:
            raise AssertionSyntaxError(f"unexpected argument '{part}'")
    if func in LATENCY_FUNCS:
        metric = metric or "latency"
        if metric not in METRICS:
            raise AssertionSyntaxError(
                f"unknown metric '{metric}'; expected one of: {', '.join(METRICS)}"
            )
        _check_filters(filters, ENGINE_FILTERS)
        if metric != "latency" and ("group" in filters or "segment" in filters):
            raise AssertionSyntaxError("phase metrics are kept per workload, not per group")
        value = _duration_ms(raw)
    elif func in RATIO_FUNCS:
        _no_metric(func, metric)
        _check_filters(filters, ENGINE_FILTERS)
        value = _ratio(raw)
    elif func in DURATION_FUNCS:
        _no_metric(func, metric)
        _check_filters(filters, ("record",))
        if "record" not in filters:
            raise AssertionSyntaxError(f"{func}() needs record=NAME")
        value = _duration_s(raw)
    elif func in COUNT_FUNCS:
        _no_metric(func, metric)
        _check_filters(filters, ENGINE_FILTERS)
        value = _count(raw)
    elif func in service_funcs:
        _no_metric(func, metric)
        kind = service_funcs[func]
        value = (
            _ratio(raw)
            if kind == "ratio"
            else _duration_s(raw)
            if kind == "duration"
            else _count(raw)
        )
    else:
        known = sorted(
            {*LATENCY_FUNCS, *RATIO_FUNCS, *COUNT_FUNCS, *DURATION_FUNCS, *service_funcs}
        )
        import difflib

        close = difflib.get_close_matches(func, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise AssertionSyntaxError(f"unknown function '{func}'{hint}; known: {', '.join(known)}")
    return Assertion(text.strip(), func, metric, filters, op, value)


def _no_metric(func: str, metric: str | None) -> None:
    if metric is not None:
        raise AssertionSyntaxError(f"{func}() takes only key=value filters, not '{metric}'")


def _check_filters(filters: dict[str, str], allowed: tuple[str, ...]) -> None:
    for k in filters:
        if k not in allowed:
            raise AssertionSyntaxError(
                f"unknown filter '{k}'; expected one of: {', '.join(allowed)}"
            )


def _count(raw: str) -> float:
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise AssertionSyntaxError(f"'{raw}' is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise AssertionSyntaxError(f"'{raw}' is not a finite number")
    return value


def _duration_ms(raw: str) -> float:
    try:
        return parse_duration_ns(raw.replace(" ", "")) / 1e6
    except ValueError:
        raise AssertionSyntaxError(f"'{raw}' is not a duration such as 150ms or 2s") from None


def _duration_s(raw: str) -> float:
    return _duration_ms(raw) / 1000.0


def _ratio(raw: str) -> float:
    try:
        return parse_fraction(raw.replace(" ", ""))
    except ValueError:
        try:
            return parse_fraction(float(raw))
        except ValueError:
            raise AssertionSyntaxError(
                f"'{raw}' is not a percentage such as 99.9% or 0.999"
            ) from None
