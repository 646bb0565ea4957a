"""Virtual and wall clocks (edgesim.sim.clock, edgesim.live.clock). No sleeps: the wall-clock
tests wait on an asyncio.Event set by the last callback, and assert only on order, never on
elapsed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgesim.live.clock import WallClock, new_event_loop
from edgesim.sim.clock import VirtualClock

S = 1_000_000_000
MS = 1_000_000

# ---------------------------------------------------------------------------- VirtualClock


def recorder(
    clock: VirtualClock, log: list[tuple[str, int]]
) -> Callable[[str], Callable[[], None]]:
    def make(name: str) -> Callable[[], None]:
        return lambda: log.append((name, clock.now_ns()))

    return make


def test_events_run_in_time_order_at_their_time() -> None:
    clock = VirtualClock()
    log: list[tuple[str, int]] = []
    ev = recorder(clock, log)
    clock.call_at(30, ev("c"))
    clock.call_at(10, ev("a"))
    clock.call_later(20, ev("b"))
    assert clock.run() == 3
    assert log == [("a", 10), ("b", 20), ("c", 30)]
    assert clock.now_ns() == 30


def test_ties_run_in_scheduling_order() -> None:
    clock = VirtualClock()
    log: list[tuple[str, int]] = []
    ev = recorder(clock, log)
    for name in "xyzw":
        clock.call_at(5, ev(name))
    clock.call_at(1, ev("first"))
    clock.run()
    assert [n for n, _ in log] == ["first", "x", "y", "z", "w"]


@given(st.lists(st.integers(min_value=0, max_value=50), max_size=60))
def test_any_schedule_runs_sorted_by_time_then_sequence(times: list[int]) -> None:
    clock = VirtualClock()
    seen: list[tuple[int, int]] = []
    for seq, t in enumerate(times):
        clock.call_at(t, lambda seq=seq: seen.append((clock.now_ns(), seq)))
    assert clock.run() == len(times)
    assert seen == sorted((t, seq) for seq, t in enumerate(times))


def test_run_until_runs_due_events_and_jumps() -> None:
    clock = VirtualClock(start_ns=100)
    log: list[tuple[str, int]] = []
    ev = recorder(clock, log)
    clock.call_at(150, ev("a"))
    clock.call_at(200, ev("b"))  # due exactly at the horizon: runs
    clock.call_at(201, ev("c"))
    assert clock.next_due_ns() == 150
    assert clock.run_until(200) == 2
    assert log == [("a", 150), ("b", 200)]
    assert clock.now_ns() == 200
    assert clock.next_due_ns() == 201
    # nothing due: the clock still jumps to the horizon
    assert clock.run_until(200 + 5 * S) == 1
    assert clock.now_ns() == 200 + 5 * S
    assert clock.next_due_ns() is None
    assert clock.run_until(10 * S) == 0
    assert clock.now_ns() == 10 * S


def test_run_until_never_moves_time_backwards() -> None:
    clock = VirtualClock(start_ns=1000)
    assert clock.run_until(10) == 0
    assert clock.now_ns() == 1000


def test_events_scheduled_by_events_run_when_due() -> None:
    clock = VirtualClock()
    log: list[tuple[str, int]] = []
    ev = recorder(clock, log)

    def chain() -> None:
        log.append(("chain", clock.now_ns()))
        clock.call_later(0, ev("now"))  # at the current time: allowed, runs after this one
        clock.call_later(5 * MS, ev("later"))

    clock.call_at(MS, chain)
    clock.call_at(MS, ev("tie"))
    assert clock.run_until(3 * MS) == 3
    assert log == [("chain", MS), ("tie", MS), ("now", MS)]
    assert clock.run() == 1
    assert log[-1] == ("later", 6 * MS)


def test_rejects_scheduling_in_the_past() -> None:
    clock = VirtualClock()
    clock.run_until(10 * S)
    with pytest.raises(ValueError, match="past"):
        clock.call_at(10 * S - 1, lambda: None)
    with pytest.raises(ValueError, match="past"):
        clock.call_later(-1, lambda: None)
    clock.call_at(10 * S, lambda: None)  # now itself is fine
    assert clock.run() == 1


def test_now_ns_is_an_int() -> None:
    clock = VirtualClock(start_ns=2.7)  # type: ignore[arg-type]
    assert type(clock.now_ns()) is int
    clock.call_at(12.9, lambda: None)  # type: ignore[arg-type]
    next_due = clock.next_due_ns()
    assert type(next_due) is int
    clock.run()
    assert type(clock.now_ns()) is int
    clock.run_until(3 * S + 0.5)  # type: ignore[arg-type]
    assert type(clock.now_ns()) is int
    assert clock.now_ns() == 3 * S


def test_hours_pass_instantly() -> None:
    clock = VirtualClock()
    fired: list[int] = []
    for h in range(1, 25):
        clock.call_at(h * 3600 * S, lambda: fired.append(clock.now_ns()))
    clock.run()
    assert fired == [h * 3600 * S for h in range(1, 25)]


# ---------------------------------------------------------------------------- WallClock


@pytest.fixture
def asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def fast_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = new_event_loop()
    yield loop
    loop.close()


def fire_order(
    loop: asyncio.AbstractEventLoop,
    schedule: Callable[[WallClock, Callable[[int], Callable[[], None]]], None],
    count: int,
    speed: float = 1000.0,
) -> tuple[list[int], list[int]]:
    """Run ``schedule`` on a WallClock; return the order the callbacks fired in and the
    clock's reading at each."""
    order: list[int] = []
    stamps: list[int] = []

    async def main() -> None:
        done = asyncio.Event()
        clock = WallClock(loop, speed=speed)

        def make(i: int) -> Callable[[], None]:
            def cb() -> None:
                order.append(i)
                stamps.append(clock.now_ns())
                if len(order) == count:
                    done.set()

            return cb

        schedule(clock, make)
        # a guard against hanging, not a timing assertion
        await asyncio.wait_for(done.wait(), timeout=60)

    loop.run_until_complete(main())
    return order, stamps


@pytest.mark.parametrize("loop_fixture", ["asyncio_loop", "fast_loop"])
def test_wall_clock_call_later_fires_in_time_order(
    loop_fixture: str, request: pytest.FixtureRequest
) -> None:
    loop = request.getfixturevalue(loop_fixture)
    delays = [30 * S, 10 * S, 50 * S, 20 * S]  # virtual; 10-50 ms of real time at speed 1000

    def schedule(clock: WallClock, make: Callable[[int], Callable[[], None]]) -> None:
        for i, d in enumerate(delays):
            clock.call_later(d, make(i))

    order, stamps = fire_order(loop, schedule, len(delays))
    assert order == [1, 3, 0, 2]
    assert all(type(t) is int for t in stamps)
    assert stamps == sorted(stamps)


def test_wall_clock_call_at_sub_millisecond_order_on_asyncio(
    asyncio_loop: asyncio.AbstractEventLoop,
) -> None:
    def schedule(clock: WallClock, make: Callable[[int], Callable[[], None]]) -> None:
        base = clock.now_ns()
        for i, d in enumerate([900 * MS, 300 * MS, 600 * MS]):  # 0.3-0.9 ms of real time
            clock.call_at(base + d, make(i))

    order, _ = fire_order(asyncio_loop, schedule, 3)
    assert order == [1, 2, 0]


def test_wall_clock_call_at_sub_millisecond_order_on_uvloop(
    fast_loop: asyncio.AbstractEventLoop,
) -> None:
    if type(fast_loop).__module__.split(".")[0] != "uvloop":
        pytest.skip("uvloop not in use")

    def schedule(clock: WallClock, make: Callable[[int], Callable[[], None]]) -> None:
        base = clock.now_ns()
        for i, d in enumerate([30 * MS, 10 * MS, 20 * MS]):  # 10-30 µs: all round to 0 ms
            clock.call_at(base + d, make(i))

    order, _ = fire_order(fast_loop, schedule, 3)
    assert order == [1, 2, 0]


def test_wall_clock_now_is_int_and_monotone(asyncio_loop: asyncio.AbstractEventLoop) -> None:
    clock = WallClock(asyncio_loop, speed=1000)
    readings = [clock.now_ns() for _ in range(1000)]
    assert all(type(r) is int for r in readings)
    assert readings == sorted(readings)
    assert readings[0] >= 0


@pytest.mark.parametrize("speed", [0, -1, -0.5])
def test_wall_clock_speed_must_be_positive(
    speed: float, asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    with pytest.raises(ValueError, match="speed must be positive"):
        WallClock(asyncio_loop, speed=speed)


def test_new_event_loop_works() -> None:
    loop = new_event_loop()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert not loop.is_closed()

        async def add(a: int, b: int) -> int:
            await asyncio.sleep(0)  # yield once to the loop (no waiting)
            return a + b

        assert loop.run_until_complete(add(2, 3)) == 5
        fired: list[int] = []
        loop.call_soon(fired.append, 1)
        loop.run_until_complete(asyncio.sleep(0))
        assert fired == [1]
    finally:
        loop.close()
    assert loop.is_closed()
    # a fresh loop each time
    other = new_event_loop()
    try:
        assert other is not loop
    finally:
        other.close()
