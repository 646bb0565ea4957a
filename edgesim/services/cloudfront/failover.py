"""Origin groups, failover and origin timeouts (spec §1.7).

* An origin group has a primary and a secondary origin and a failover criterion: any
  non-empty subset of 400, 403, 404, 416, 500, 502, 503, 504; connection failures and
  timeouts always fail over.
* Only GET, HEAD and OPTIONS requests fail over; every request tries the primary first.
* Timeouts: ConnectionTimeout 10 s (1–10), ConnectionAttempts 3 (1–3), OriginReadTimeout
  30 s (1–120), ResponseCompletionTimeout no default (at least the read timeout).

:func:`worst_case_wait_s` is what CloudFront may wait before failing over or answering
504: ``max(attempts × connection timeout, read timeout)`` — an unreachable origin costs
every connection attempt, a hung one (connected quickly) the read timeout, or the
ResponseCompletionTimeout when set (edgesim's choice; 30 s with the defaults, as in the
spec).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "FAILOVER_METHODS",
    "FAILOVER_STATUS_CODES",
    "NextAction",
    "OriginGroup",
    "OriginTimeouts",
    "next_action",
    "validate_failover_codes",
    "worst_case_wait_s",
]

FAILOVER_STATUS_CODES: Final = frozenset({400, 403, 404, 416, 500, 502, 503, 504})
FAILOVER_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
NextAction = Literal["serve", "failover", "error"]


def validate_failover_codes(codes: Iterable[int]) -> frozenset[int]:
    """Check a failover criterion: a non-empty subset of :data:`FAILOVER_STATUS_CODES`."""
    out = frozenset(int(c) for c in codes)
    if not out:
        raise ValueError("an origin group needs at least one failover status code")
    bad = sorted(out - FAILOVER_STATUS_CODES)
    if bad:
        raise ValueError(
            f"status codes {bad} cannot trigger failover; allowed: {sorted(FAILOVER_STATUS_CODES)}"
        )
    return out


@dataclass(frozen=True)
class OriginTimeouts:
    """An origin's connection settings (seconds)."""

    connection_timeout_s: float = 10.0
    connection_attempts: int = 3
    read_timeout_s: float = 30.0
    response_completion_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.connection_timeout_s <= 10:
            raise ValueError(f"ConnectionTimeout must be 1–10 s, got {self.connection_timeout_s}")
        if not 1 <= self.connection_attempts <= 3:
            raise ValueError(f"ConnectionAttempts must be 1–3, got {self.connection_attempts}")
        if not 1 <= self.read_timeout_s <= 120:
            raise ValueError(f"OriginReadTimeout must be 1–120 s, got {self.read_timeout_s}")
        rct = self.response_completion_timeout_s
        if rct is not None and rct < self.read_timeout_s:
            raise ValueError(
                f"ResponseCompletionTimeout ({rct} s) must be at least the read timeout "
                f"({self.read_timeout_s} s)"
            )


@dataclass(frozen=True)
class OriginGroup:
    """A primary/secondary origin pair with its failover criterion."""

    primary: str
    secondary: str
    failover_status_codes: frozenset[int] = FAILOVER_STATUS_CODES
    selection_criteria: Literal["default", "media-quality-based"] = "default"

    def __post_init__(self) -> None:
        if self.primary == self.secondary:
            raise ValueError("an origin group needs two different origins")
        object.__setattr__(
            self, "failover_status_codes", validate_failover_codes(self.failover_status_codes)
        )
        if self.selection_criteria not in ("default", "media-quality-based"):
            raise ValueError(
                "selection_criteria must be default or media-quality-based, got "
                f"{self.selection_criteria!r}"
            )


def next_action(
    outcome: int | Literal["timeout", "unreachable"],
    method: str,
    is_primary: bool,
    failover_status_codes: Iterable[int] = FAILOVER_STATUS_CODES,
) -> NextAction:
    """What to do with one origin attempt's outcome.

    ``outcome`` is the HTTP status or ``"timeout"``/``"unreachable"``. Returns
    ``"failover"`` (try the secondary), ``"serve"`` (pass the response on) or
    ``"error"`` (answer 502/504 from CloudFront).
    """
    failed = outcome in ("timeout", "unreachable")
    eligible = is_primary and method.upper() in FAILOVER_METHODS
    if failed:
        return "failover" if eligible else "error"
    if eligible and outcome in frozenset(failover_status_codes):
        return "failover"
    return "serve"


def worst_case_wait_s(timeouts: OriginTimeouts | None = None) -> float:
    """Longest wait on one origin before failing over or answering 504 (module docs)."""
    t = timeouts or OriginTimeouts()
    read = t.read_timeout_s
    if t.response_completion_timeout_s is not None:
        read = t.response_completion_timeout_s
    return max(t.connection_attempts * t.connection_timeout_s, read)
