"""The live delay (edgesim/live/delay.py): never early, in deadline order, cancellable."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from edgesim.live.delay import Delayer, delay_for, delay_until, get_delayer, now

T = TypeVar("T")
TIMEOUT_S = 20.0


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


def run(kind: str, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    loop = _new_loop(kind)
    try:
        return loop.run_until_complete(asyncio.wait_for(make(), TIMEOUT_S))
    finally:
        loop.close()


LOOPS = pytest.mark.parametrize("kind", ["asyncio", "uvloop"])


@LOOPS
@pytest.mark.parametrize("lead_s", [0.0, 0.002])
def test_never_returns_before_the_deadline(kind: str, lead_s: float) -> None:
    async def main() -> list[tuple[float, float, float, float]]:
        delayer = Delayer(lead_s=lead_s)
        rng = random.Random(3)
        base = now()

        async def one(deadline: float) -> tuple[float, float, float, float]:
            lateness = await delayer.until(deadline)
            return deadline, now(), asyncio.get_running_loop().time(), lateness

        deadlines = [base + 0.005 + rng.random() * 0.05 for _ in range(500)]
        return await asyncio.gather(*(one(d) for d in deadlines))

    results = run(kind, main)
    for deadline, woke, loop_time, lateness in results:
        assert woke >= deadline
        assert lateness >= 0
        if kind == "asyncio":  # asyncio's loop.time() is time.monotonic()
            assert loop_time >= deadline


@LOOPS
def test_many_concurrent_delays_are_released_in_deadline_order(kind: str) -> None:
    async def main() -> tuple[list[int], list[tuple[float, int]], Delayer]:
        delayer = Delayer()
        rng = random.Random(11)
        base = now() + 0.5
        # 1,000 waiters, several sharing a deadline; pushed in shuffled order.
        slots = [base + rng.randrange(200) * 0.0002 for _ in range(1000)]
        order: list[int] = []

        async def one(i: int) -> None:
            await delayer.until(slots[i])
            order.append(i)

        tasks = []
        for i in range(len(slots)):
            tasks.append(asyncio.ensure_future(one(i)))
        await asyncio.sleep(0)  # every task has pushed its deadline, in index order
        assert now() < base, "the waiters must all be pending for the order to mean anything"
        assert len(delayer) == len(slots)
        await asyncio.gather(*tasks)
        return order, [(slots[i], i) for i in range(len(slots))], delayer

    order, keyed, delayer = run(kind, main)
    assert order == [i for _, i in sorted(keyed)]
    assert delayer.released == 1000
    assert len(delayer) == 0
    assert delayer.max_lateness_s >= 0


def test_past_deadlines_return_at_once_with_their_lateness() -> None:
    async def main() -> tuple[float, int]:
        delayer = Delayer()
        lateness = await delayer.until(now() - 0.5)
        return lateness, len(delayer)

    lateness, pending = run("asyncio", main)
    assert lateness >= 0.5
    assert pending == 0


def test_sleep_and_deadline_after_measure_from_now() -> None:
    async def main() -> tuple[float, float, float]:
        delayer = Delayer()
        start = now()
        await delayer.sleep(0.02)
        deadline = Delayer.deadline_after(0.01)
        return start, now(), deadline

    start, end, deadline = run("asyncio", main)
    assert end - start >= 0.02
    assert deadline >= start + 0.01


def test_a_cancelled_waiter_is_skipped_and_the_others_still_run() -> None:
    async def main() -> tuple[list[str], int, int]:
        delayer = Delayer()
        done: list[str] = []

        async def one(name: str, delay: float) -> None:
            await delayer.sleep(delay)
            done.append(name)

        early = asyncio.ensure_future(one("early", 0.005))
        cancelled = asyncio.ensure_future(one("cancelled", 0.01))
        late = asyncio.ensure_future(one("late", 0.02))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(early, late)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return done, delayer.released, len(delayer)

    done, released, pending = run("asyncio", main)
    assert done == ["early", "late"]
    assert released == 2
    assert pending == 0


def test_call_at_runs_callbacks_in_order_and_cancel_stops_one() -> None:
    async def main() -> list[tuple[str, float, float]]:
        delayer = Delayer()
        seen: list[tuple[str, float, float]] = []
        finished = asyncio.get_running_loop().create_future()
        base = now()

        def record(name: str, deadline: float) -> None:
            seen.append((name, deadline, now()))
            if name == "last":
                finished.set_result(None)

        delayer.call_at(base + 0.02, record, "last", base + 0.02)
        delayer.call_at(base + 0.01, record, "first", base + 0.01)
        h = delayer.call_later(0.015, record, "cancelled", base + 0.015)
        h.cancel()
        assert h.cancelled
        await finished
        return seen

    seen = run("asyncio", main)
    assert [name for name, _, _ in seen] == ["first", "last"]
    assert all(woke >= deadline for _, deadline, woke in seen)


def test_close_cancels_pending_waiters() -> None:
    async def main() -> bool:
        delayer = Delayer()
        task = asyncio.ensure_future(delayer.sleep(30))
        await asyncio.sleep(0)
        delayer.close()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert run("asyncio", main)


def test_module_helpers_share_one_delayer_per_loop() -> None:
    async def main() -> tuple[bool, float, float, float]:
        first = get_delayer()
        start = now()
        late_a = await delay_for(0.005)
        late_b = await delay_until(start + 0.01)
        return first is get_delayer(), now() - start, late_a, late_b

    same, elapsed, late_a, late_b = run("asyncio", main)
    assert same
    assert elapsed >= 0.01
    assert late_a >= 0
    assert late_b >= 0


def test_a_negative_lead_is_rejected() -> None:
    with pytest.raises(ValueError, match="lead_s"):
        Delayer(lead_s=-1)
