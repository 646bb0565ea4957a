"""CodeDeploy-style traffic shifting between two versions of an endpoint, with alarm-driven
rollback and exposure counts (I/O-free).

Deployment configurations (AWS CodeDeploy User Guide, "Working with deployment configurations";
``AWS::CodeDeploy::DeploymentConfig`` ``TimeBasedCanary`` / ``TimeBasedLinear``):

* ``AllAtOnce`` — every request goes to the new version at once;
* ``Canary<P>Percent<M>Minutes`` — P % at once, the rest after M minutes (two increments);
* ``Linear<P>PercentEvery<M>Minute(s)`` — P % more every M minutes until 100 %.

The predefined names (``CodeDeployDefault.LambdaCanary10Percent5Minutes``,
``CodeDeployDefault.ECSLinear10PercentEvery1Minutes``, …) are accepted with or without the
``CodeDeployDefault.`` and ``Lambda``/``ECS`` prefixes, and so are custom percentages and
intervals. CodeDeploy stops a deployment when one of its CloudWatch alarms goes to ALARM and,
with automatic rollback on alarm, shifts traffic back to the original version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
NS = 1_000_000_000
MINUTE_NS = 60 * NS

PREDEFINED: tuple[str, ...] = (
    "AllAtOnce",
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
)
"""CodeDeploy's predefined traffic-shifting configurations for Lambda and ECS (without the
``CodeDeployDefault.Lambda`` / ``CodeDeployDefault.ECS`` prefix)."""

IN_PLACE = ("OneAtATime", "HalfAtATime")
"""EC2/on-premises in-place configurations (not modelled)."""

_PREFIX = r"(?:CodeDeployDefault\.)?(?:Lambda|ECS)?"
_CANARY = re.compile(rf"^{_PREFIX}Canary(\d+)Percent(\d+)Minutes?$")
_LINEAR = re.compile(rf"^{_PREFIX}Linear(\d+)PercentEvery(\d+)Minutes?$")
_ALL = re.compile(rf"^{_PREFIX}AllAtOnce$")


class DeployConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TrafficShift:
    """A parsed deployment configuration: when each share of traffic moves."""

    name: str
    kind: str
    """``all``, ``canary`` or ``linear``."""
    percent: int = 100
    interval_min: int = 0

    def steps(self) -> tuple[list[int], list[float]]:
        """Offsets from the start (ns) and the share of the new version from each offset."""
        if self.kind == "all":
            return [0], [1.0]
        if self.kind == "canary":
            return [0, self.interval_min * MINUTE_NS], [self.percent / 100, 1.0]
        offsets, shares = [], []
        k = 0
        while True:
            share = min(1.0, (k + 1) * self.percent / 100)
            offsets.append(k * self.interval_min * MINUTE_NS)
            shares.append(share)
            if share >= 1.0:
                return offsets, shares
            k += 1


def parse_config(name: str) -> TrafficShift:
    """A deployment configuration by name; raises :class:`DeployConfigError` with the names
    that exist."""
    text = str(name).strip()
    if _ALL.match(text):
        return TrafficShift(text, "all")
    for pattern, kind in ((_CANARY, "canary"), (_LINEAR, "linear")):
        m = pattern.match(text)
        if m:
            pct, minutes = int(m.group(1)), int(m.group(2))
            if not 1 <= pct <= 99:
                raise DeployConfigError(f"{text}: the percentage must be 1 to 99, got {pct}")
            if not 1 <= minutes <= 2880:
                raise DeployConfigError(
                    f"{text}: the interval must be 1 to 2880 minutes, got {minutes}"
                )
            return TrafficShift(text, kind, pct, minutes)
    if any(text.endswith(p) for p in IN_PLACE):
        raise DeployConfigError(
            f"'{text}' is an in-place EC2 deployment configuration, which is not modelled; "
            "use a traffic-shifting one (AllAtOnce, Canary…, Linear…)"
        )
    import difflib

    close = difflib.get_close_matches(text, PREDEFINED, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise DeployConfigError(
        f"unknown deployment configuration '{text}'{hint}; expected one of "
        + ", ".join(PREDEFINED)
        + ", or Canary<P>Percent<M>Minutes / Linear<P>PercentEvery<M>Minutes"
    )


def valid_period_ns(period_ns: int) -> bool:
    """CloudWatch alarm periods: 10 s, 30 s or a multiple of 60 s (up to a day)."""
    return period_ns in (10 * NS, 30 * NS) or (
        period_ns % MINUTE_NS == 0 and MINUTE_NS <= period_ns <= 86_400 * NS
    )


@dataclass
class AlarmRule:
    """A CloudWatch-style alarm on the new version's requests: ALARM after ``periods``
    periods in a row with the metric above ``above``; periods without requests change
    nothing (``TreatMissingData: missing``)."""

    metric: str
    """``error_rate`` (errors / requests) or ``p99_ms`` (queue + service time)."""
    above: float
    periods: int = 1
    period_ns: int = MINUTE_NS
    streak: int = 0

    def observe(self, requests: int, errors: int, p99_ms: float) -> bool:
        """One period's figures; True when the alarm is (now) in ALARM."""
        if requests > 0:
            value = errors / requests if self.metric == "error_rate" else p99_ms
            self.streak = self.streak + 1 if value > self.above else 0
        return self.streak >= self.periods


@dataclass
class Deployment:
    """One deployment of ``to_version`` over ``from_version`` on one endpoint."""

    endpoint: str
    from_version: str
    to_version: str
    shift: TrafficShift
    start_ns: int
    n_groups: int
    rollback: bool = True
    bake_ns: int = 0
    """How long alarms are still watched after the last shift before the deployment
    succeeds (edgesim's stand-in for CodeDeploy's AfterAllowTraffic hooks and bake time)."""
    rule: AlarmRule | None = None
    check: str | None = None
    """Name of a Route 53 health check whose unhealthy status means ALARM."""
    state: str = "in_progress"
    """``in_progress``, ``succeeded``, ``rolled_back`` or ``stopped``."""
    end_ns: int | None = None
    alarm_ns: int | None = None
    frozen_share: float | None = None
    requests: int = 0
    errors: int = 0
    group_requests: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    group_errors: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    window_requests: int = 0
    window_errors: int = 0
    window_ms: list[F64] = field(default_factory=list)
    _offsets: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _shares: F64 = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        offsets, shares = self.shift.steps()
        self._offsets = np.asarray(offsets, dtype=np.int64) + self.start_ns
        self._shares = np.asarray(shares, dtype=np.float64)
        self.group_requests = np.zeros(self.n_groups, dtype=np.int64)
        self.group_errors = np.zeros(self.n_groups, dtype=np.int64)

    @property
    def last_shift_ns(self) -> int:
        return int(self._offsets[-1])

    @property
    def finish_ns(self) -> int:
        return self.last_shift_ns + self.bake_ns

    @property
    def active(self) -> bool:
        return self.state in ("in_progress", "stopped")

    def share_at(self, t_ns: I64) -> F64:
        """The new version's share of requests arriving at ``t_ns`` (a table look-up)."""
        i = np.searchsorted(self._offsets, t_ns, "right") - 1
        share: F64 = np.where(i >= 0, self._shares[np.maximum(i, 0)], 0.0)
        if self.state == "rolled_back" and self.end_ns is not None:
            share = np.where(t_ns >= self.end_ns, 0.0, share)
        elif self.frozen_share is not None and self.alarm_ns is not None:
            share = np.where(t_ns >= self.alarm_ns, self.frozen_share, share)
        return share

    def record(self, groups: npt.NDArray[np.int32], bad: npt.NDArray[np.bool_]) -> None:
        """Count counted (post-warm-up) requests served by the new version, by client group."""
        self.requests += len(groups)
        self.errors += int(bad.sum())
        self.group_requests += np.bincount(groups, minlength=self.n_groups)[: self.n_groups]
        if bad.any():
            self.group_errors += np.bincount(groups[bad], minlength=self.n_groups)[: self.n_groups]

    def window(self, n: int, errors: int, ms: F64) -> None:
        self.window_requests += n
        self.window_errors += errors
        if len(ms):
            self.window_ms.append(ms)

    def evaluate(self, now_ns: int, check_unhealthy: bool) -> str | None:
        """At a chunk start: read the alarm when a period ends, roll back or stop on ALARM,
        succeed after the last shift (and bake). Returns what happened, if anything."""
        if self.state != "in_progress":
            return None
        in_alarm = check_unhealthy
        rule = self.rule
        elapsed = now_ns - self.start_ns
        if rule is not None and elapsed > 0 and elapsed % rule.period_ns == 0:
            ms = np.concatenate(self.window_ms) if self.window_ms else np.zeros(0)
            p99 = float(np.percentile(ms, 99)) if len(ms) else 0.0
            in_alarm |= rule.observe(self.window_requests, self.window_errors, p99)
            self.window_requests = self.window_errors = 0
            self.window_ms = []
        if in_alarm:
            self.alarm_ns = now_ns
            self.end_ns = now_ns
            if self.rollback:
                self.state = "rolled_back"
                return "rollback"
            self.state = "stopped"
            self.frozen_share = float(self.share_at(np.array([now_ns - 1]))[0])
            return "stopped"
        if now_ns >= self.finish_ns:
            self.state = "succeeded"
            self.end_ns = now_ns
            return "succeeded"
        return None

    def timeline(self) -> list[dict[str, float]]:
        """The share of the new version over time (seconds from the run's start)."""
        out = []
        for at, share in zip(self._offsets.tolist(), self._shares.tolist(), strict=True):
            if self.end_ns is not None and self.state != "succeeded" and at >= self.end_ns:
                break
            out.append({"at_s": at / NS, "share": share})
        if self.state == "rolled_back" and self.end_ns is not None:
            out.append({"at_s": self.end_ns / NS, "share": 0.0})
        return out

    def report(self, group_names: list[str], base_error_rate: float) -> dict[str, object]:
        top = np.argsort(-self.group_requests, kind="stable")
        groups = {
            group_names[int(g)]: {
                "requests": int(self.group_requests[g]),
                "errors": int(self.group_errors[g]),
            }
            for g in top
            if self.group_requests[g] > 0
        }
        return {
            "version": self.to_version,
            "from_version": self.from_version,
            "config": self.shift.name,
            "started_s": self.start_ns / NS,
            "ended_s": None if self.end_ns is None else self.end_ns / NS,
            "outcome": self.state,
            "alarm_s": None if self.alarm_ns is None else self.alarm_ns / NS,
            "rollback_s": self.end_ns / NS
            if self.state == "rolled_back" and self.end_ns is not None
            else None,
            "shares": self.timeline(),
            "exposure": {
                "requests": self.requests,
                "errors": self.errors,
                "excess_errors": round(max(self.errors - self.requests * base_error_rate, 0.0), 3),
                "groups": groups,
            },
        }
