"""Run Command's rate controls: MaxConcurrency and MaxErrors over a set of targets (I/O-free).

The rules (AWS Systems Manager API Reference, ``SendCommand`` and
``RegisterTaskWithMaintenanceWindow``; User Guide, "Running commands at scale" and
"Understanding command statuses"):

* **MaxConcurrency** — how many targets run the command at the same time: a number (``10``) or a
  percentage of the target set (``10%``). As an invocation finishes, the next pending target
  starts.
* **MaxErrors** — a number or a percentage of the target set: the system stops sending the
  command to further targets when the number of errors *exceeds* it (MaxErrors 3: at the fourth
  error; 0: at the first; 10 % of 50 targets: at the sixth). Invocations already running
  complete and may fail too. Execution timeouts count as errors.
* Per-invocation statuses: Pending, InProgress, Success, Failed, TimedOut, Cancelled.

Where AWS is silent (docs/ssm.md, "Rate controls"): a percentage is rounded down, and for
MaxConcurrency never below 1 (CloudFormation StackSets documents this rule for its own
percentage concurrency; edgesim uses it here); targets never sent the command after a stop are
reported ``Cancelled``; an invocation whose run takes longer than the execution timeout is
``TimedOut`` at the timeout.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

_RATE = re.compile(r"^\s*(\d+)\s*(%?)\s*$")

PENDING = "Pending"
IN_PROGRESS = "InProgress"
SUCCESS = "Success"
FAILED = "Failed"
TIMED_OUT = "TimedOut"
CANCELLED = "Cancelled"
STATUSES = (PENDING, IN_PROGRESS, SUCCESS, FAILED, TIMED_OUT, CANCELLED)


@dataclass(frozen=True)
class Rate:
    """A MaxConcurrency or MaxErrors value: a count or a percentage of the targets."""

    value: int
    percent: bool

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)

    def of(self, targets: int) -> int:
        """The count for ``targets`` targets (percentages rounded down)."""
        if not self.percent:
            return self.value
        return math.floor(targets * self.value / 100 + 1e-9)

    def concurrency(self, targets: int) -> int:
        """As MaxConcurrency: at least 1."""
        return max(1, self.of(targets))


def parse_rate(value: object, what: str = "MaxConcurrency") -> Rate:
    """``10``, ``"10"`` or ``"10%"``; raises ValueError with the expected form."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} must be a number such as 10 or a percentage such as 10%")
    m = _RATE.match(str(value))
    if m is None:
        raise ValueError(
            f"{what} must be a number such as 10 or a percentage such as 10%, got {value!r}"
        )
    n, pct = int(m.group(1)), bool(m.group(2))
    if pct and n > 100:
        raise ValueError(f"{what} {n}% is above 100%")
    return Rate(n, pct)


@dataclass
class Invocation:
    """The command on one target."""

    target: str
    status: str = PENDING
    start_ns: int | None = None
    end_ns: int | None = None
    """When the invocation reached its final status."""
    back_ns: int | None = None
    """When the target serves again after the run took it out (None: it does not)."""
    outcome: str = SUCCESS
    """What the invocation will end with once it has run (drawn when it starts)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "status": self.status,
            "start_s": None if self.start_ns is None else self.start_ns / 1e9,
            "end_s": None if self.end_ns is None else self.end_ns / 1e9,
        }


Draw = Callable[[Invocation, int], tuple[int, str, int | None]]
"""Given an invocation starting at ``t`` ns: (run time in ns, final status, ns after the start
when the target serves again or None)."""


@dataclass
class RateControlled:
    """One command over ``invocations`` under MaxConcurrency and MaxErrors, in virtual time.

    :meth:`advance` processes everything due up to a moment, in time order: invocations ending
    (their status), the stop at MaxErrors, the cancel at ``cancel_ns`` (a maintenance window's
    cutoff with CANCEL_TASK), and pending targets starting as slots free up."""

    invocations: list[Invocation]
    concurrency: int
    max_errors: int
    start_ns: int
    draw: Draw
    cancel_ns: int | None = None
    errors: int = 0
    stopped: str | None = None
    """Why no more targets are sent the command: ``max_errors`` or ``cancelled``."""
    done_ns: int | None = None
    _pending: deque[Invocation] = field(default_factory=deque)
    _running: list[tuple[int, int, Invocation]] = field(default_factory=list)
    _started: bool = False

    def __post_init__(self) -> None:
        self._pending = deque(self.invocations)

    @property
    def done(self) -> bool:
        return self.done_ns is not None

    def _fill(self, t: int) -> None:
        if self.cancel_ns is not None and t >= self.cancel_ns:
            return  # nothing is sent at or after the cutoff
        while self.stopped is None and self._pending and len(self._running) < self.concurrency:
            inv = self._pending.popleft()
            run_ns, outcome, back = self.draw(inv, t)
            inv.status = IN_PROGRESS
            inv.start_ns = t
            inv.outcome = outcome
            inv.back_ns = None if back is None else t + back
            heapq.heappush(self._running, (t + max(run_ns, 0), id(inv), inv))

    def _stop(self, why: str, t: int) -> None:
        self.stopped = why
        while self._pending:
            inv = self._pending.popleft()
            inv.status = CANCELLED
            inv.end_ns = t

    def advance(self, now_ns: int) -> None:
        if not self._started:
            if now_ns < self.start_ns:
                return
            self._started = True
            self._fill(self.start_ns)
        while not self.done:
            t_end = self._running[0][0] if self._running else math.inf
            t_cancel: float = math.inf
            if self.cancel_ns is not None and self.stopped != "cancelled":
                t_cancel = self.cancel_ns
            t = min(t_end, t_cancel)
            if not self._running and not self._pending:
                self.done_ns = max(self.start_ns, self._last_end())
                break
            if t > now_ns or t == math.inf:
                break
            if t_end <= t_cancel:
                _, _, inv = heapq.heappop(self._running)
                inv.status = inv.outcome
                inv.end_ns = int(t_end)
                if inv.outcome in (FAILED, TIMED_OUT):
                    self.errors += 1
                    if self.errors > self.max_errors and self.stopped is None:
                        self._stop("max_errors", int(t_end))
                self._fill(int(t_end))
            else:
                self._stop("cancelled", int(t_cancel))

    def _last_end(self) -> int:
        ends = [i.end_ns for i in self.invocations if i.end_ns is not None]
        return max(ends) if ends else self.start_ns

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for inv in self.invocations:
            out[inv.status] += 1
        return out

    def status(self) -> tuple[str, str]:
        """The command's Status and StatusDetails (User Guide, "Understanding command
        statuses"): Failed when MaxErrors or more invocations failed, TimedOut after a cancel
        at the cutoff, Success with details Incomplete when some failed below the limit."""
        if not self.done:
            return (PENDING, PENDING) if not self._started else (IN_PROGRESS, "In Progress")
        if self.stopped == "cancelled":
            return TIMED_OUT, "Cancelled"
        failed = sum(i.status == FAILED for i in self.invocations)
        timed = sum(i.status == TIMED_OUT for i in self.invocations)
        if self.errors and self.errors >= max(self.max_errors, 1):
            if timed > failed:
                return TIMED_OUT, "Execution Timed Out"
            return FAILED, "Failed"
        if self.errors:
            return SUCCESS, "Incomplete"
        return SUCCESS, "Success"
