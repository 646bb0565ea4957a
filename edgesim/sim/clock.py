"""One engine, two clocks.

:class:`VirtualClock` (here) keeps integer nanoseconds and jumps straight to the next due event
(runs and tests); :class:`edgesim.live.clock.WallClock` follows real time on an asyncio (uvloop)
loop, optionally sped up (live mode). Both satisfy :class:`Clock`, so the decision code
scheduled on them is the same. Integer nanoseconds avoid the float-time drift that hangs event
loops at epoch scale. This module is part of the I/O-free core: no event loop here.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def call_at(self, at_ns: int, fn: Callable[[], None]) -> None: ...


@dataclass(order=True)
class Due:
    """An event due at ``at_ns``; ties run in scheduling order (``seq``)."""

    at_ns: int
    seq: int
    fn: Callable[[], None] = field(compare=False)


class VirtualClock:
    """Virtual time: nothing happens between events, so hours pass in microseconds."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = int(start_ns)
        self._heap: list[Due] = []
        self._seq = itertools.count()

    def now_ns(self) -> int:
        return self._now

    def call_at(self, at_ns: int, fn: Callable[[], None]) -> None:
        if at_ns < self._now:
            raise ValueError(f"cannot schedule in the past ({at_ns} < {self._now})")
        heapq.heappush(self._heap, Due(int(at_ns), next(self._seq), fn))

    def call_later(self, delay_ns: int, fn: Callable[[], None]) -> None:
        self.call_at(self._now + int(delay_ns), fn)

    def next_due_ns(self) -> int | None:
        return self._heap[0].at_ns if self._heap else None

    def run_until(self, t_ns: int) -> int:
        """Run every event due at or before ``t_ns`` in time order (ties: scheduling order),
        then set the time to ``t_ns``. Returns how many ran."""
        ran = 0
        while self._heap and self._heap[0].at_ns <= t_ns:
            due = heapq.heappop(self._heap)
            self._now = due.at_ns
            due.fn()
            ran += 1
        self._now = max(self._now, int(t_ns))
        return ran

    def run(self) -> int:
        """Run until no event is left (jumping from one to the next)."""
        ran = 0
        while self._heap:
            ran += self.run_until(self._heap[0].at_ns)
        return ran
