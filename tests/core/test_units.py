"""Units in files: durations, sizes and percentages (edgesim.units).

Expected values are worked out by hand from the unit definitions (SI prefixes decimal, IEC
prefixes binary, durations in integer nanoseconds), not read back from the code.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from edgesim.units import (
    ByteSize,
    Duration,
    Fraction,
    format_duration_ns,
    parse_duration_ns,
    parse_fraction,
    parse_size_bytes,
)

NS = 1
US = 1_000
MS = 1_000_000
S = 1_000_000_000
MIN = 60 * S
H = 3600 * S
DAY = 24 * H

# ---------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("250ms", 250 * MS),
        ("5m", 5 * MIN),
        ("5min", 5 * MIN),
        ("2h", 2 * H),
        ("1d", DAY),
        ("1h30m", H + 30 * MIN),
        ("1h 30m", H + 30 * MIN),
        ("2m30s", 150 * S),
        ("1m500ms", MIN + 500 * MS),
        ("1.5s", 1500 * MS),
        ("0.25s", 250 * MS),
        (".5s", 500 * MS),
        ("500us", 500 * US),
        ("500µs", 500 * US),
        ("750ns", 750 * NS),
        ("10s", 10 * S),
        ("  10 s  ", 10 * S),
        ("1_000ms", S),
        ("0s", 0),
    ],
)
def test_parse_duration(text: str, ns: int) -> None:
    got = parse_duration_ns(text)
    assert got == ns
    assert type(got) is int


@pytest.mark.parametrize(
    "bad",
    ["5", "5 parsecs", "-1s", "", "s", "ms", "5 s s", "1h30", "five seconds", "1e3ms", "5sec"],
)
def test_parse_duration_rejects_bad_strings(bad: str) -> None:
    with pytest.raises(ValueError, match=r"expected e\.g\. 250ms") as exc:
        parse_duration_ns(bad)
    assert repr(bad) in str(exc.value)


@pytest.mark.parametrize("bad", [5, 5.0, True, False, None, [1], {"s": 1}])
def test_parse_duration_rejects_non_strings(bad: object) -> None:
    # bare numbers have no unit, so they are ambiguous and rejected with a hint
    with pytest.raises(ValueError, match="needs a unit") as exc:
        parse_duration_ns(bad)
    assert "250ms" in str(exc.value)


@pytest.mark.parametrize("bad", ["1.s", "1.5.s", "1..5s", "1.2.3s"])
def test_parse_duration_rejects_malformed_numbers(bad: str) -> None:
    # "1.s" became 0 ns, "1.5.s" 0 ns, "1..5s" 5 s and "1.2.3s" 2.3 s
    with pytest.raises(ValueError, match="as a duration"):
        parse_duration_ns(bad)


# ---------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("value", "nbytes"),
    [
        ("40KB", 40_000),
        ("40kB", 40_000),
        ("40kb", 40_000),
        ("1.5MB", 1_500_000),
        ("2GB", 2_000_000_000),
        ("1TB", 10**12),
        ("1KiB", 1024),
        ("40KiB", 40 * 1024),
        ("1.5MiB", 1_572_864),
        ("2GiB", 2 * 1024**3),
        ("1TiB", 1024**4),
        ("512B", 512),
        ("512b", 512),
        ("512", 512),
        (" 8 KB ", 8000),
        ("1_000KB", 1_000_000),
        (0, 0),
        (1024, 1024),
        (1500.0, 1500),
    ],
)
def test_parse_size(value: object, nbytes: int) -> None:
    got = parse_size_bytes(value)
    assert got == nbytes
    assert type(got) is int


@pytest.mark.parametrize(
    "bad", ["40 parsecs", "-1KB", "40K", "KB", "", "1e3", "40KIB", "4 0KB", -1, -0.5, True, None]
)
def test_parse_size_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size_bytes(bad)


def test_parse_size_rejects_infinity_with_value_error() -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size_bytes(math.inf)


@given(st.integers(min_value=0, max_value=10**15))
def test_bare_numbers_are_bytes(n: int) -> None:
    assert parse_size_bytes(n) == n
    assert parse_size_bytes(str(n)) == n
    assert parse_size_bytes(f"{n}B") == n


@given(st.integers(min_value=0, max_value=10**6))
def test_si_is_decimal_iec_is_binary(k: int) -> None:
    assert parse_size_bytes(f"{k}KB") == k * 1000
    assert parse_size_bytes(f"{k}KiB") == k * 1024
    assert parse_size_bytes(f"{k}MB") == k * 1000**2
    assert parse_size_bytes(f"{k}MiB") == k * 1024**2
    assert parse_size_bytes(f"{k}GiB") == k * 1024**3


# ---------------------------------------------------------------------------- fractions


@pytest.mark.parametrize(
    ("value", "frac"),
    [
        ("99.9%", 0.999),
        ("10%", 0.1),
        ("0%", 0.0),
        ("100%", 1.0),
        (" 50 % ", 0.5),
        ("0.5%", 0.005),
        (0.5, 0.5),
        (0, 0.0),
        (1, 1.0),
        (0.999, 0.999),
    ],
)
def test_parse_fraction(value: object, frac: float) -> None:
    got = parse_fraction(value)
    assert isinstance(got, float)
    assert got == pytest.approx(frac, abs=1e-12)


@pytest.mark.parametrize(
    "bad", ["150%", "100.1%", "-1%", 1.5, -0.1, float("nan"), True, None, "half", "50"]
)
def test_parse_fraction_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"percentage|between 0% and 100%"):
        parse_fraction(bad)


def test_parse_fraction_accepts_bare_number_string() -> None:
    assert parse_fraction("0.05") == pytest.approx(0.05)


# ---------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (5 * MIN, "5m"),
        (90 * S, "90s"),
        (250 * MS, "250ms"),
        (2 * H, "2h"),
        (1500 * NS, "1500ns"),
        (S + 1, "1000000001ns"),
    ],
)
def test_format_duration(ns: int, text: str) -> None:
    assert format_duration_ns(ns) == text


@given(st.integers(min_value=0, max_value=10 * 365 * 24 * 3600 * 1000))
def test_format_then_parse_round_trips_whole_ms(ms: int) -> None:
    ns = ms * MS
    text = format_duration_ns(ns)
    assert parse_duration_ns(text) == ns
    # the spelling is exact and uses the largest unit that divides the value
    assert not text.endswith("ns")


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=2**53))
def test_format_then_parse_round_trips_any_ns(ns: int) -> None:
    assert parse_duration_ns(format_duration_ns(ns)) == ns


# ---------------------------------------------------------------------------- pydantic types


class _Spec(BaseModel):
    timeout: Duration
    size: ByteSize
    share: Fraction


def test_annotated_types_in_a_model() -> None:
    m = _Spec(timeout="1h30m", size="2GiB", share="99.9%")
    assert m.timeout == 5400 * S
    assert m.size == 2 * 1024**3
    assert m.share == pytest.approx(0.999)
    m2 = _Spec(timeout="250ms", size=1234, share=0.25)
    assert (m2.timeout, m2.size, m2.share) == (250 * MS, 1234, 0.25)


def test_duration_serialises_as_text_and_round_trips() -> None:
    m = _Spec(timeout="5m", size="40KB", share="10%")
    dumped = m.model_dump(mode="json")
    assert dumped["timeout"] == "5m"
    assert _Spec.model_validate(dumped) == m
    assert _Spec.model_validate_json(m.model_dump_json()) == m


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("timeout", "5 parsecs"),
        ("timeout", 5),
        ("timeout", "-1s"),
        ("size", "40 parsecs"),
        ("size", -1),
        ("share", "150%"),
        ("share", "lots"),
    ],
)
def test_bad_values_are_validation_errors(field: str, bad: object) -> None:
    good: dict[str, object] = {"timeout": "1s", "size": "1KB", "share": "1%"}
    good[field] = bad
    with pytest.raises(ValidationError) as exc:
        _Spec(**good)
    errors = exc.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == (field,)
    assert (
        "expected e.g." in errors[0]["msg"]
        or "between" in errors[0]["msg"]
        or ("negative" in errors[0]["msg"])
    )
