"""How big a run may be: refused at load time, before anything is built.

The engine works through a run in chunks of about 100,000 requests, so requests themselves are
not kept; what grows with a run is its time series (one row per ``interval`` that saw
requests, kept for the report) and the list of chunk boundaries (one per interval). A run is
refused when either would exceed what fits in memory, or when its request count is beyond
what one run can work through (edgesim's choices below), with the estimate and the limit.
"""

from __future__ import annotations

import math

from edgesim.errors import InputError, Problem
from edgesim.scenario.schema import ScenarioBase
from edgesim.units import format_duration_ns
from edgesim.yamlio import LineIndex

NS = 1_000_000_000

MAX_REQUESTS = 10_000_000_000
"""edgesim's choice: ten billion requests per run (about half a day of one core at the
engine's rate; counters and histograms stay exact far beyond)."""

MAX_INTERVALS = 100_000
"""edgesim's choice: time-series rows per run. A row holds a latency summary per workload
(about 1–3 KB with the chunk boundary it brings), so 100,000 rows stay within a few hundred
MB; that is 69 days at 1-minute intervals, 11 years at 1 hour."""


def estimated_requests(scn: ScenarioBase) -> float:
    """Requests the run is expected to make: every ``clients`` entry's rate over the whole
    run (diurnal profiles average to 1), plus what flash crowds add (as if every group took
    part)."""
    duration_s = scn.duration / NS
    rate = sum(c.requests_per_second for c in scn.clients)
    extra = 0.0
    for ev in scn.timeline:
        fc = ev.flash_crowd
        if fc is not None and fc.factor > 1:
            overlap_s = max(0.0, min(fc.duration, scn.duration - ev.at) / NS)
            extra += (fc.factor - 1) * rate * overlap_s
    return rate * duration_s + extra


def check_run_size(scn: ScenarioBase, index: LineIndex | None, file: str | None) -> None:
    """Raise :class:`InputError` (file, line, field) if the run would not fit."""
    index = index or LineIndex()
    problems: list[Problem] = []
    n = estimated_requests(scn)
    if n > MAX_REQUESTS:
        line, column = index.find(("duration",))
        rate = sum(c.requests_per_second for c in scn.clients)
        problems.append(
            Problem(
                f"the run would make about {n:.3g} requests ({rate:,.6g} req/s for "
                f"{format_duration_ns(scn.duration)}), more than one run can hold "
                f"(at most {MAX_REQUESTS:.3g})",
                path="duration",
                line=line,
                column=column,
                expected=f"a duration or requests_per_second giving at most {MAX_REQUESTS:.3g} "
                f"requests, e.g. duration ≤ {format_duration_ns(_max_duration_ns(rate))}",
            )
        )
    intervals = math.ceil(max(scn.duration - scn.warmup, 0) / scn.interval)
    if intervals > MAX_INTERVALS:
        line, column = index.find(("duration",))
        problems.append(
            Problem(
                f"the run's time series would have {intervals:,} rows "
                f"({format_duration_ns(scn.duration)} in steps of "
                f"{format_duration_ns(scn.interval)}), more than fit in memory "
                f"(at most {MAX_INTERVALS:,})",
                path="duration",
                line=line,
                column=column,
                expected=f"at most {MAX_INTERVALS:,} intervals: a shorter duration or a longer "
                "interval (up to 1h)",
            )
        )
    if problems:
        raise InputError(problems, file=file)


def _max_duration_ns(rate_rps: float) -> int:
    if rate_rps <= 0:
        return 0
    return int(MAX_REQUESTS / rate_rps) * NS
