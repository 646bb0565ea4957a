"""Target-tracking auto scaling of a pool of instances or tasks (I/O-free).

Modelled on the CloudWatch alarms a target-tracking policy creates (Application Auto Scaling
and EC2 Auto Scaling user guides, "How target tracking scaling works"):

* every ``period`` (60 s: CloudWatch's standard resolution) the metric is read — the pool's
  average utilisation (busy server-seconds / server-seconds, the stand-in for CPU) or the
  requests per unit per minute (``ALBRequestCountPerTarget``);
* **scale out** when the metric is above the target for ``out_periods`` periods in a row (the
  "AlarmHigh" alarm, 3 × 1 min): the desired count becomes ``ceil(in_service × metric /
  target)``, up to ``maximum``; units already launching count towards it, so a policy never
  launches twice for the same shortfall;
* **scale in** when the metric is below ``in_ratio × target`` (90 %) for ``in_periods`` periods
  in a row (the "AlarmLow" alarm, 15 × 1 min), at most once per ``scale_in_cooldown``, down to
  ``minimum``: target tracking removes capacity more cautiously than it adds it;
* a launched unit serves after ``delay`` (instance warm-up, or the task start time of
  :mod:`edgesim.compute.containers`).

edgesim's choices: the utilisation of a period is ρ = offered work / capacity, capped at 100 %
(a pool with a backlog reads 100 %), which is what CPU utilisation approximates for a CPU-bound
service; units that are still launching report no metric (as during an instance warm-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

NS = 1_000_000_000


@dataclass
class ScaleEvent:
    at_ns: int
    desired_from: int
    desired_to: int
    metric: float


@dataclass
class TargetTracking:
    """The desired, launching and in-service counts of one auto-scaled pool."""

    in_service: int
    minimum: int
    maximum: int
    target: float
    """Target value: a utilisation in (0, 1], or requests per unit per minute."""
    delay_ns: int
    """From the scale-out decision until the new unit serves."""
    metric: str = "utilization"
    """``utilization`` or ``requests`` (per unit per minute)."""
    period_ns: int = 60 * NS
    out_periods: int = 3
    in_periods: int = 15
    in_ratio: float = 0.9
    scale_in_cooldown_ns: int = 300 * NS
    pending: list[tuple[int, int]] = field(default_factory=list)
    """(ready at, units) launches that do not serve yet."""
    events: list[ScaleEvent] = field(default_factory=list)
    peak: int = 0
    _high: int = 0
    _low: int = 0
    _last_in_ns: int = -(10**18)

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.in_service <= self.maximum:
            raise ValueError("need 1 ≤ minimum ≤ initial ≤ maximum")
        if self.target <= 0:
            raise ValueError("the target must be positive")
        self.peak = self.in_service

    @property
    def desired(self) -> int:
        return self.in_service + sum(n for _, n in self.pending)

    def advance(self, now_ns: int) -> bool:
        """Bring launches that are ready by ``now_ns`` into service; True if any were."""
        ready = [p for p in self.pending if p[0] <= now_ns]
        if not ready:
            return False
        self.pending = [p for p in self.pending if p[0] > now_ns]
        self.in_service += sum(n for _, n in ready)
        self.peak = max(self.peak, self.in_service)
        return True

    def observe(self, now_ns: int, value: float) -> None:
        """One period's metric, read at the end of the period (``now_ns``)."""
        self._high = self._high + 1 if value > self.target else 0
        self._low = self._low + 1 if value < self.in_ratio * self.target else 0
        want = min(
            self.maximum,
            max(self.minimum, math.ceil(self.in_service * value / self.target - 1e-9)),
        )
        desired = self.desired
        if self._high >= self.out_periods and want > desired:
            self.pending.append((now_ns + self.delay_ns, want - desired))
            self.events.append(ScaleEvent(now_ns, desired, want, value))
        elif (
            self._low >= self.in_periods
            and want < desired
            and now_ns - self._last_in_ns >= self.scale_in_cooldown_ns
        ):
            drop = desired - want
            kept: list[tuple[int, int]] = []
            for ready, n in sorted(self.pending, reverse=True):  # newest launches go first
                take = min(n, drop)
                drop -= take
                if n - take:
                    kept.append((ready, n - take))
            self.pending = sorted(kept)
            self.in_service -= drop
            self._last_in_ns = now_ns
            self.events.append(ScaleEvent(now_ns, desired, want, value))
