"""Accurate emulated delays for the live endpoints (asyncio, userspace).

A per-request ``await asyncio.sleep(d)`` is off by up to a millisecond even on an idle loop:
asyncio rounds ``epoll_wait``'s timeout *up* to whole milliseconds (late), and uvloop keeps
time in whole milliseconds (up to 1 ms early on a fine clock). Under load each sleeper is also
a separate timer whose wake-up waits for the rest of the loop iteration. :class:`Delayer`
instead keeps every pending delay in one heap of absolute deadlines and arms a single loop
timer ``lead_s`` (2 ms) before the earliest one; from there it re-checks once per loop
iteration (``call_soon``, so sockets are still polled in between, with a zero timeout) and
releases each waiter on the first iteration at or after its deadline, measured with
:func:`time.monotonic`. So:

- a waiter is **never released before its deadline** (checked on the high-resolution clock);
- waiters are released **in deadline order** (ties in arrival order);
- deadlines are absolute, so time spent before the delay (parsing, an upstream fetch) is not
  added on top: ``until(arrival + rtt)`` rather than ``sleep(rtt)`` after the work.

Deadlines are seconds on ``CLOCK_MONOTONIC``: :func:`time.monotonic`, which is what
``loop.time()`` returns on asyncio's loops (uvloop's ``loop.time()`` is the same clock
truncated to the millisecond). ``bench/bench_delay.py`` measures the accuracy with 1,000
concurrent connections (docs/live-origin.md has the numbers).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import weakref
from collections.abc import Callable
from typing import Any

DEFAULT_LEAD_S = 0.002
"""How long before a deadline the single timer fires and per-iteration checks begin."""


def now() -> float:
    """The delay clock: :func:`time.monotonic` (``loop.time()`` on asyncio's loops)."""
    return time.monotonic()


class DelayHandle:
    """A scheduled callback from :meth:`Delayer.call_at`; :meth:`cancel` stops it."""

    __slots__ = ("_args", "_callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callable[..., Any], args: tuple[Any, ...]):
        self.deadline = deadline
        self._callback: Callable[..., Any] | None = callback
        self._args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self._callback = None
        self._args = ()

    def _run(self) -> None:
        callback = self._callback
        if callback is None:
            return
        self._callback = None
        callback(*self._args)


_Waiter = asyncio.Future[float] | DelayHandle


class Delayer:
    """Releases waiters at absolute deadlines on one event loop; see the module docstring.

    ``lead_s`` is how long before the earliest deadline the loop timer is armed; from then on
    the delayer re-checks once per loop iteration. ``lead_s = 0`` gives plain timer behaviour
    (late by up to about a millisecond, no extra loop iterations).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        lead_s: float = DEFAULT_LEAD_S,
    ) -> None:
        if lead_s < 0:
            raise ValueError("lead_s cannot be negative")
        self._loop = loop
        self.lead_s = lead_s
        self._heap: list[tuple[float, int, _Waiter]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._spinning = False
        self.released = 0
        """Waiters released so far (cancelled ones are not counted)."""
        self.max_lateness_s = 0.0
        """The largest (release time − deadline) seen so far, on the monotonic clock."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def __len__(self) -> int:
        """Pending entries (cancelled ones included until their deadline passes)."""
        return len(self._heap)

    @staticmethod
    def deadline_after(delay_s: float) -> float:
        """The absolute deadline ``delay_s`` from now."""
        return now() + delay_s

    async def until(self, deadline_s: float) -> float:
        """Wait until ``deadline_s`` (monotonic seconds); returns how late it woke, in seconds.

        Returns at once (lateness ≥ 0) if the deadline has passed. Cancelling the caller
        removes it from the schedule.
        """
        t = now()
        if t >= deadline_s:
            return t - deadline_s
        fut: asyncio.Future[float] = self.loop.create_future()
        self._push(deadline_s, fut)
        return await fut

    async def sleep(self, delay_s: float) -> float:
        """Wait ``delay_s`` seconds from now; returns how late it woke, in seconds."""
        return await self.until(now() + delay_s)

    def call_at(self, deadline_s: float, callback: Callable[..., Any], *args: Any) -> DelayHandle:
        """Run ``callback(*args)`` at ``deadline_s`` (never before), in deadline order."""
        handle = DelayHandle(deadline_s, callback, args)
        self._push(deadline_s, handle)
        return handle

    def call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> DelayHandle:
        return self.call_at(now() + delay_s, callback, *args)

    def close(self) -> None:
        """Cancel every pending waiter and the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = float("inf")
        heap, self._heap = self._heap, []
        for _, _, w in heap:
            w.cancel()

    # ---- internals ---------------------------------------------------------------------------

    def _push(self, deadline: float, waiter: _Waiter) -> None:
        heapq.heappush(self._heap, (deadline, next(self._seq), waiter))
        if not self._spinning and deadline - self.lead_s < self._timer_at:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        at = deadline - self.lead_s
        self._timer_at = at
        # loop.time() and now() are the same clock (uvloop's truncated to the millisecond).
        self._timer = self.loop.call_at(self.loop.time() + (at - now()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = float("inf")
        self._tick()

    def _tick(self) -> None:
        self._spinning = False
        heap = self._heap
        t = now()
        while heap and heap[0][0] <= t:
            deadline, _, waiter = heapq.heappop(heap)
            lateness = t - deadline
            if isinstance(waiter, DelayHandle):
                if waiter.cancelled:
                    continue
                waiter._run()
            else:
                if waiter.done():
                    continue
                waiter.set_result(lateness)
            self.released += 1
            if lateness > self.max_lateness_s:
                self.max_lateness_s = lateness
            t = now()
        if not heap:
            return
        first = heap[0][0]
        if first - t <= self.lead_s:
            # Close to the deadline: check again on the next loop iteration (I/O is polled
            # in between with a zero timeout), rather than trusting a millisecond timer.
            self._spinning = True
            self.loop.call_soon(self._tick)
        else:
            self._arm(first)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Delayer] = (
    weakref.WeakKeyDictionary()
)


def get_delayer() -> Delayer:
    """The running loop's shared :class:`Delayer` (created on first use)."""
    loop = asyncio.get_running_loop()
    d = _per_loop.get(loop)
    if d is None:
        d = Delayer(loop)
        _per_loop[loop] = d
    return d


async def delay_until(deadline_s: float) -> float:
    """Wait on the running loop's shared :class:`Delayer` until ``deadline_s`` (monotonic s).

    Returns the lateness in seconds (≥ 0); never returns before the deadline.
    """
    return await get_delayer().until(deadline_s)


async def delay_for(delay_s: float) -> float:
    """Wait ``delay_s`` seconds from now on the shared :class:`Delayer`; returns the lateness."""
    return await get_delayer().until(now() + delay_s)
