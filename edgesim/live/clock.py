"""The wall clock of live mode: real time on an asyncio (uvloop) event loop.

:class:`WallClock` offers the calls of :class:`edgesim.sim.clock.Clock`, like the virtual clock
of runs, so the decision code scheduled on either is the same.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

from edgesim.sim.clock import Due


class WallClock:
    """Real time on an asyncio loop, scaled by ``speed`` (10 = ten virtual seconds a second).

    ``now_ns`` counts virtual nanoseconds since the clock was made. Events wait in the clock's
    own heap and one loop timer wakes it for the earliest, so they run in virtual-time order
    even when the loop's timers are coarser than their spacing (uvloop rounds to 1 ms).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.loop = loop or asyncio.get_event_loop()
        self.speed = speed
        self._t0 = time.monotonic_ns()
        self._heap: list[Due] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None

    def now_ns(self) -> int:
        return int((time.monotonic_ns() - self._t0) * self.speed)

    def call_at(self, at_ns: int, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, Due(int(at_ns), next(self._seq), fn))
        if self._timer_at is None or at_ns < self._timer_at:
            self._arm()

    def call_later(self, delay_ns: int, fn: Callable[[], None]) -> None:
        self.call_at(self.now_ns() + int(delay_ns), fn)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = None
        if not self._heap:
            return
        at = self._heap[0].at_ns
        delay_s = max(0.0, (at - self.now_ns()) / self.speed / 1e9)
        self._timer = self.loop.call_later(delay_s, self._fire)
        self._timer_at = at

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self.now_ns()
        # Everything due by now, earliest first; one late by less than a timer tick too.
        while self._heap and self._heap[0].at_ns <= now:
            heapq.heappop(self._heap).fn()
        if self._heap and self._heap[0].at_ns - now < int(0.002 * 1e9 * self.speed):
            # the loop woke a little early (timer granularity): run the next one now, in order
            heapq.heappop(self._heap).fn()
        self._arm()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop where available (live mode), else asyncio's default."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
