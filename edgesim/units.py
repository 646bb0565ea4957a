"""Units in files: durations (``250ms``, ``5m``, ``2h``), sizes (``40KB``, ``2GiB``), percentages.

Durations become integer nanoseconds, sizes integer bytes. SI prefixes are decimal (1 KB =
1,000 bytes) and IEC prefixes binary (1 KiB = 1,024 bytes), as on the labels of disks and
network links. Bare numbers are rejected for durations and accepted as bytes for sizes only
where a field says so.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000

_DURATION_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": NS_PER_MS,
    "s": NS_PER_S,
    "m": 60 * NS_PER_S,
    "min": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
    "d": 86400 * NS_PER_S,
}
_SIZE_UNITS: dict[str, int] = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_NUM = r"([0-9][0-9_]*(?:\.[0-9]+)?|\.[0-9]+)"
_DURATION_RE = re.compile(rf"^\s*{_NUM}\s*(ns|us|µs|ms|s|min|m|h|d)\s*$")
_COMPOUND_RE = re.compile(
    r"^\s*(?:[0-9][0-9_]*(?:\.[0-9]+)?\s*(?:ns|us|µs|ms|min|s|m|h|d)\s*){2,}$"
)
_PART_RE = re.compile(r"([0-9][0-9_]*(?:\.[0-9]+)?)\s*(ns|us|µs|ms|min|s|m|h|d)")
_SIZE_RE = re.compile(rf"^\s*{_NUM}\s*([kKmMgGtT]i?[bB]|[bB])?\s*$")
_PCT_RE = re.compile(rf"^\s*{_NUM}\s*%\s*$")


def parse_duration_ns(value: Any) -> int:
    """``"250ms"`` → 250_000_000; also ``"1h30m"``. Raises ValueError with the expected form."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"a duration needs a unit, got {value!r}; expected e.g. 250ms, 10s, 5m, 2h"
        )
    m = _DURATION_RE.match(value)
    if m:
        return round(float(m.group(1).replace("_", "")) * _DURATION_UNITS[m.group(2)])
    if _COMPOUND_RE.match(value):
        return sum(
            round(float(n.replace("_", "")) * _DURATION_UNITS[u])
            for n, u in _PART_RE.findall(value)
        )
    raise ValueError(f"cannot read {value!r} as a duration; expected e.g. 250ms, 10s, 5m, 2h")


def parse_size_bytes(value: Any) -> int:
    """``"40KB"`` → 40_000, ``"2GiB"`` → 2_147_483_648; a bare number is bytes."""
    if isinstance(value, bool):
        raise ValueError(f"cannot read {value!r} as a size")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot read {value!r} as a size")
        if value < 0:
            raise ValueError("a size cannot be negative")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"cannot read {value!r} as a size; expected e.g. 40KB, 1.5MB, 2GiB")
    m = _SIZE_RE.match(value)
    if not m:
        raise ValueError(f"cannot read {value!r} as a size; expected e.g. 40KB, 1.5MB, 2GiB")
    unit = (m.group(2) or "b").lower()
    return round(float(m.group(1).replace("_", "")) * _SIZE_UNITS[unit])


def parse_fraction(value: Any) -> float:
    """``"99.9%"`` → 0.999; a bare number in [0, 1] is taken as it is."""
    if isinstance(value, bool):
        raise ValueError(f"cannot read {value!r} as a percentage")
    if isinstance(value, int | float):
        f = float(value)
    elif isinstance(value, str):
        m = _PCT_RE.match(value)
        if m:
            f = float(m.group(1).replace("_", "")) / 100
        elif re.fullmatch(r"\s*[0-9]*\.?[0-9]+\s*", value):
            f = float(value)
        else:
            raise ValueError(f"cannot read {value!r} as a percentage; expected e.g. 99.9% or 0.999")
    else:
        raise ValueError(f"cannot read {value!r} as a percentage")
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"{value!r} is not between 0% and 100%")
    return f


def format_duration_ns(ns: int) -> str:
    """A short exact spelling in one unit: 5m, 90s, 250ms, 90m."""
    if ns == 0:
        return "0s"
    for unit, size in (("h", 3600 * NS_PER_S), ("m", 60 * NS_PER_S), ("s", NS_PER_S)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    if ns % NS_PER_MS == 0:
        return f"{ns // NS_PER_MS}ms"
    return f"{ns}ns"


Duration = Annotated[
    int,
    BeforeValidator(parse_duration_ns),
    PlainSerializer(format_duration_ns, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9._]+\s*(ns|us|ms|s|m|min|h|d)",
            "examples": ["250ms", "5m", "2h"],
        }
    ),
]
"""A duration in a file (``"5m"``), held as integer nanoseconds."""

ByteSize = Annotated[
    int,
    BeforeValidator(parse_size_bytes),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "examples": ["40KB", "1.5MB", "2GiB"]}, {"type": "integer"}]}
    ),
]
"""A size in a file (``"40KB"``), held as integer bytes."""

Fraction = Annotated[
    float,
    BeforeValidator(parse_fraction),
    WithJsonSchema({"anyOf": [{"type": "string", "examples": ["99.9%"]}, {"type": "number"}]}),
]
"""A share or percentage (``"10%"`` or ``0.1``), held as a float in [0, 1]."""
