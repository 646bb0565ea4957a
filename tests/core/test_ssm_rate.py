"""Run Command's rate controls and maintenance window schedules, against AWS's documented rules
(docs/ssm.md cites the pages)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edgesim.services.ssm import schedule
from edgesim.services.ssm.rate import (
    CANCELLED,
    FAILED,
    IN_PROGRESS,
    SUCCESS,
    TIMED_OUT,
    Invocation,
    RateControlled,
    parse_rate,
)

NS = 1_000_000_000
MIN = 60 * NS


def _run(
    n: int,
    concurrency: int,
    max_errors: int,
    failing: set[int],
    *,
    minutes: int = 5,
    cancel_ns: int | None = None,
    timeout_min: int | None = None,
) -> RateControlled:
    invs = [Invocation(f"i-{k}") for k in range(n)]
    order = {inv.target: k for k, inv in enumerate(invs)}

    def draw(inv: Invocation, _t: int) -> tuple[int, str, int | None]:
        run = minutes * MIN
        if timeout_min is not None and minutes > timeout_min:
            return timeout_min * MIN, TIMED_OUT, run
        return run, FAILED if order[inv.target] in failing else SUCCESS, run

    return RateControlled(invs, concurrency, max_errors, 0, draw, cancel_ns=cancel_ns)


def _max_running(rc: RateControlled) -> int:
    events = []
    for inv in rc.invocations:
        if inv.start_ns is not None and inv.end_ns is not None:
            events += [(inv.start_ns, 1), (inv.end_ns, -1)]
    peak = cur = 0
    for _, d in sorted(events, key=lambda e: (e[0], e[1])):
        cur += d
        peak = max(peak, cur)
    return peak


# ---- MaxConcurrency ---------------------------------------------------------------------------
def test_max_concurrency_bounds_the_targets_running_at_once() -> None:
    rc = _run(10, 3, 0, set())
    rc.advance(10**15)
    assert _max_running(rc) == 3
    assert rc.counts()[SUCCESS] == 10
    # 10 targets, 3 at a time, 5 minutes each: 4 waves
    assert rc.done_ns == 4 * 5 * MIN
    assert rc.status() == (SUCCESS, "Success")


def test_a_finished_invocation_frees_its_slot_for_the_next_target() -> None:
    rc = _run(4, 2, 0, set())
    rc.advance(5 * MIN - 1)
    assert [i.status for i in rc.invocations] == [IN_PROGRESS, IN_PROGRESS, "Pending", "Pending"]
    rc.advance(5 * MIN)
    assert [i.status for i in rc.invocations] == [SUCCESS, SUCCESS, IN_PROGRESS, IN_PROGRESS]


@pytest.mark.parametrize(
    ("text", "targets", "count"),
    [("10", 50, 10), ("10%", 50, 5), ("10%", 55, 5), ("10%", 5, 1), ("100%", 7, 7), ("1%", 3, 1)],
)
def test_a_percentage_is_of_the_target_set_rounded_down_at_least_one(
    text: str, targets: int, count: int
) -> None:
    assert parse_rate(text).concurrency(targets) == count


@pytest.mark.parametrize("bad", ["ten", "10.5", "-1", "150%", True, 1.5])
def test_rates_that_are_not_a_number_or_a_percentage_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"number such as 10|above 100%"):
        parse_rate(bad)


# ---- MaxErrors ----------------------------------------------------------------------------------
def test_max_errors_zero_stops_after_the_first_error() -> None:
    rc = _run(10, 1, 0, {1})
    rc.advance(10**15)
    statuses = [i.status for i in rc.invocations]
    assert statuses[:2] == [SUCCESS, FAILED]
    assert statuses[2:] == [CANCELLED] * 8  # never sent
    assert rc.stopped == "max_errors"
    assert rc.status()[0] == FAILED


def test_max_errors_three_stops_at_the_fourth_error() -> None:
    rc = _run(10, 1, 3, {0, 1, 2, 3, 4})
    rc.advance(10**15)
    assert rc.counts()[FAILED] == 4
    assert rc.counts()[CANCELLED] == 6


def test_ten_percent_of_fifty_targets_stops_at_the_sixth_error() -> None:
    max_errors = parse_rate("10%", "MaxErrors").of(50)
    assert max_errors == 5
    rc = _run(50, 1, max_errors, set(range(0, 20)))
    rc.advance(10**15)
    assert rc.counts()[FAILED] == 6
    assert rc.counts()[CANCELLED] == 44


def test_invocations_already_running_at_max_errors_complete_and_may_fail_too() -> None:
    # 4 at a time, all of the first wave fail: MaxErrors 0 is passed at the first error, but
    # the other three were already running and complete (failing too); nothing more is sent.
    rc = _run(8, 4, 0, {0, 1, 2, 3})
    rc.advance(10**15)
    assert rc.counts()[FAILED] == 4
    assert rc.counts()[CANCELLED] == 4


def test_errors_below_max_errors_leave_the_command_incomplete_not_failed() -> None:
    rc = _run(10, 2, 3, {4})
    rc.advance(10**15)
    assert rc.counts()[SUCCESS] == 9
    assert rc.status() == (SUCCESS, "Incomplete")


def test_execution_timeouts_count_against_max_errors() -> None:
    rc = _run(5, 1, 0, set(), minutes=10, timeout_min=5)
    rc.advance(10**15)
    assert [i.status for i in rc.invocations] == [TIMED_OUT] + [CANCELLED] * 4
    assert rc.invocations[0].end_ns == 5 * MIN
    assert rc.status()[0] == TIMED_OUT


def test_cancel_at_the_cutoff_cancels_pending_targets_and_lets_running_ones_finish() -> None:
    rc = _run(6, 2, 0, set(), cancel_ns=7 * MIN)
    rc.advance(10**15)
    statuses = [i.status for i in rc.invocations]
    assert statuses == [SUCCESS, SUCCESS, SUCCESS, SUCCESS, CANCELLED, CANCELLED]
    assert rc.invocations[4].end_ns == 7 * MIN
    assert rc.status() == (TIMED_OUT, "Cancelled")


# ---- schedules ---------------------------------------------------------------------------------
START = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def test_patch_tuesday_cron_fires_on_the_second_tuesday_of_the_month() -> None:
    got = schedule.occurrences("cron(0 18 ? * TUE#2 *)", START, 45 * 86400 * NS)
    days = [START.timestamp() + t / NS for t in got]
    assert [datetime.fromtimestamp(d, UTC).isoformat() for d in days] == [
        "2026-01-13T18:00:00+00:00",
        "2026-02-10T18:00:00+00:00",
    ]


def test_cron_in_a_time_zone() -> None:
    got = schedule.occurrences("cron(0 2 ? * SUN *)", START, 7 * 86400 * NS, "America/New_York")
    # Sunday 4 January 2026, 02:00 in New York is 07:00 UTC
    assert got == [(3 * 86400 + 7 * 3600) * NS]


def test_last_day_and_last_weekday() -> None:
    got = schedule.occurrences("cron(30 1 L * ? *)", START, 40 * 86400 * NS)
    assert got == [(30 * 86400 + 5400) * NS]
    got = schedule.occurrences("cron(0 0 ? * 6L *)", START, 31 * 86400 * NS)  # last Friday
    assert got == [29 * 86400 * NS]


def test_rate_and_at() -> None:
    assert schedule.occurrences("rate(2 hours)", START, 5 * 3600 * NS) == [
        0,
        2 * 3600 * NS,
        4 * 3600 * NS,
    ]
    assert schedule.occurrences("at(2026-01-01T00:30:00)", START, 3600 * NS) == [30 * MIN]
    assert schedule.occurrences("at(2026-01-01T02:30:00)", START, 3600 * NS) == []


@pytest.mark.parametrize(
    ("expr", "msg"),
    [
        ("cron(0 18 * * TUE *)", "must be '\\?'"),
        ("cron(0 18 1 * 2 *)", "must be '\\?'"),
        ("cron(0 25 ? * MON *)", "outside 0-23"),
        ("cron(0 1 2 3)", "6 fields"),
        ("cron(0 18 ? * TUE#9 *)", "TUE#2"),
        ("every tuesday", "not a schedule"),
    ],
)
def test_bad_schedules(expr: str, msg: str) -> None:
    with pytest.raises(schedule.ScheduleError, match=msg):
        schedule.check(expr)
