"""Route 53 health checks on the engine's clock (I/O-free; spec: docs/route53.md §Health checks).

Each checker region runs its own state machine: a result that disagrees with the current
status must repeat ``failure_threshold`` times in a row before the status flips (both ways).
The check is healthy while **more than 18 %** of the checker regions report healthy. A new
check starts healthy (an inverted one unhealthy); a disabled one is always healthy; an
inverted one reports the opposite; a calculated one is healthy while at least ``threshold``
of its children are.

edgesim's choice where AWS is silent: all checker regions probe at the same moments, every
``interval`` from the start of the run (AWS's checkers "don't coordinate"; spreading them out
would only shift each region's result by a fraction of the interval).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

#: The 8 regions Route 53 health checkers run from (HealthCheckConfig.Regions).
CHECKER_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)
HEALTHY_SHARE = 0.18  # healthy if strictly more than 18 % of the checkers say so


@dataclass
class CheckerState:
    healthy: bool
    streak: int = 0  # consecutive results disagreeing with `healthy`

    def observe(self, ok: bool, threshold: int) -> None:
        if ok == self.healthy:
            self.streak = 0
            return
        self.streak += 1
        if self.streak >= threshold:
            self.healthy = ok
            self.streak = 0


@dataclass
class EndpointCheck:
    """An HTTP/HTTPS/TCP check of one target from several regions."""

    name: str
    regions: Sequence[str]
    interval_ns: int
    failure_threshold: int
    probe: Callable[[str], bool]
    """probe(region) -> whether the endpoint answers a checker in that region right now."""
    inverted: bool = False
    disabled: bool = False
    checkers: dict[str, CheckerState] = field(default_factory=dict)
    transitions: list[tuple[int, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.checkers = {r: CheckerState(True) for r in self.regions}
        self._status = self._aggregate()

    def _aggregate(self) -> bool:
        if self.disabled:
            return True
        share = sum(c.healthy for c in self.checkers.values()) / max(len(self.checkers), 1)
        raw = share > HEALTHY_SHARE
        return not raw if self.inverted else raw

    @property
    def healthy(self) -> bool:
        return self._status

    def run(self, now_ns: int) -> None:
        """One round of probes from every checker region at ``now_ns``."""
        for region, state in self.checkers.items():
            state.observe(self.probe(region), self.failure_threshold)
        status = self._aggregate()
        if status != self._status:
            self._status = status
            self.transitions.append((now_ns, status))


@dataclass
class CalculatedCheck:
    """Healthy while at least ``threshold`` children are healthy (0: always healthy)."""

    name: str
    children: Sequence[EndpointCheck | CalculatedCheck | AlarmCheck]
    threshold: int
    inverted: bool = False
    disabled: bool = False
    transitions: list[tuple[int, bool]] = field(default_factory=list)
    _status: bool = True

    @property
    def healthy(self) -> bool:
        return self._status

    def update(self, now_ns: int) -> None:
        if self.disabled:
            status = True
        else:
            raw = sum(c.healthy for c in self.children) >= self.threshold
            status = not raw if self.inverted else raw
        if status != self._status:
            self._status = status
            self.transitions.append((now_ns, status))


@dataclass
class AlarmCheck:
    """A check that follows a CloudWatch-style alarm on a metric of the scenario.

    Each ``period`` the metric is read; the alarm goes to ALARM after ``evaluation_periods``
    breaching periods in a row and back to OK after as many non-breaching ones; a period with
    no data keeps the last state (``InsufficientDataHealthStatus: LastKnownStatus``). ALARM is
    unhealthy, OK healthy (docs/route53.md §Health checks).
    """

    name: str
    period_ns: int
    evaluation_periods: int
    read: Callable[[], tuple[bool, bool]]
    """read() -> (has data, breaching) for the period that just ended."""
    inverted: bool = False
    disabled: bool = False
    transitions: list[tuple[int, bool]] = field(default_factory=list)
    state: CheckerState = field(default_factory=lambda: CheckerState(True))
    _status: bool = True

    @property
    def interval_ns(self) -> int:
        return self.period_ns

    @property
    def healthy(self) -> bool:
        return self._status

    def run(self, now_ns: int) -> None:
        has_data, breaching = self.read()
        if has_data:
            self.state.observe(not breaching, self.evaluation_periods)
        raw = True if self.disabled else self.state.healthy
        status = raw if self.disabled else (not raw if self.inverted else raw)
        if status != self._status:
            self._status = status
            self.transitions.append((now_ns, status))
