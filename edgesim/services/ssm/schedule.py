"""Maintenance window schedules: ``cron(…)``, ``rate(…)`` and ``at(…)`` (I/O-free).

The forms (AWS Systems Manager User Guide, "Reference: Cron and rate expressions for Systems
Manager"):

* ``cron(minutes hours day-of-month month day-of-week [year])`` — six fields (the year may be
  left out); month and day-of-week also by name (JAN, MON); day-of-week 1–7 is SUN–SAT;
  ``*`` any, ``?`` no value (one of day-of-month and day-of-week must be ``?``), ``,`` lists,
  ``-`` ranges, ``/`` steps, ``L`` last (day of month, or ``6L`` the last Friday), ``#`` the
  n-th weekday of the month (``TUE#2``: the second Tuesday, Patch Tuesday);
* ``rate(N minutes|hours|days)`` — every N units, the first time at the run's start (edgesim's
  choice: AWS counts from the window's creation, which a scenario does not have);
* ``at(yyyy-mm-ddThh:mm:ss)`` — once.

Times are in the window's ``timezone`` (IANA name, default UTC), as ``ScheduleTimezone``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

NS = 1_000_000_000
MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.I)
_AT = re.compile(r"^at\(\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\s*\)$", re.I)
_CRON = re.compile(r"^cron\((.*)\)$", re.I)
MAX_SCAN_MINUTES = 366 * 24 * 60


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class _Field:
    values: frozenset[int]
    any: bool = False


def _names(text: str, names: dict[str, int]) -> str:
    for name, num in names.items():
        text = re.sub(rf"\b{name}\b", str(num), text, flags=re.I)
    return text


def _field(text: str, lo: int, hi: int, what: str, names: dict[str, int] | None = None) -> _Field:
    if text in ("*", "?"):
        return _Field(frozenset(range(lo, hi + 1)), any=True)
    if names:
        text = _names(text, names)
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, _, s = part.partition("/")
            if not s.isdigit() or int(s) < 1:
                raise ScheduleError(f"bad step '/{s}' in the {what} field")
            step = int(s)
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            x, _, y = part.partition("-")
            if not (x.isdigit() and y.isdigit()):
                raise ScheduleError(f"bad range '{part}' in the {what} field")
            a, b = int(x), int(y)
        elif part.isdigit():
            a = int(part)
            b = a if step == 1 else hi
        else:
            raise ScheduleError(f"cannot read '{part}' in the {what} field")
        if not (lo <= a <= hi and lo <= b <= hi and a <= b):
            raise ScheduleError(f"'{part}' is outside {lo}-{hi} in the {what} field")
        out.update(range(a, b + 1, step))
    return _Field(frozenset(out))


@dataclass(frozen=True)
class Cron:
    minute: _Field
    hour: _Field
    month: _Field
    year: _Field
    dom: _Field | None
    dom_last: bool
    dow: _Field | None
    dow_nth: tuple[int, int] | None
    """(weekday 1-7, n): the n-th such weekday of the month."""
    dow_last: int | None
    """weekday 1-7: the last such weekday of the month."""

    def matches(self, t: datetime) -> bool:
        if t.minute not in self.minute.values or t.hour not in self.hour.values:
            return False
        if t.month not in self.month.values or t.year not in self.year.values:
            return False
        last_day = calendar.monthrange(t.year, t.month)[1]
        if self.dom_last:
            return t.day == last_day
        if self.dom is not None and not self.dom.any:
            return t.day in self.dom.values
        weekday = (t.isoweekday() % 7) + 1  # SUN=1 … SAT=7
        if self.dow_nth is not None:
            wd, n = self.dow_nth
            return weekday == wd and (t.day - 1) // 7 + 1 == n
        if self.dow_last is not None:
            return weekday == self.dow_last and t.day + 7 > last_day
        if self.dow is not None:
            return weekday in self.dow.values
        return True


def parse_cron(body: str) -> Cron:
    parts = body.split()
    if len(parts) == 5:
        parts.append("*")
    if len(parts) != 6:
        raise ScheduleError(
            f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year),"
            f" got {len(parts)}"
        )
    mi, hr, dom, mon, dow, yr = parts
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            "one of day-of-month and day-of-week must be '?' (Systems Manager's cron takes one)"
        )
    dom_last = dom.upper() == "L"
    dow_nth = None
    dow_last = None
    dow_field = None
    if dow != "?":
        d = _names(dow, DAYS)
        if "#" in d:
            a, _, b = d.partition("#")
            if not (a.isdigit() and b.isdigit() and 1 <= int(a) <= 7 and 1 <= int(b) <= 5):
                raise ScheduleError(f"bad '{dow}' in the day-of-week field; expected e.g. TUE#2")
            dow_nth = (int(a), int(b))
        elif d.upper().endswith("L") and d[:-1].isdigit():
            dow_last = int(d[:-1])
            if not 1 <= dow_last <= 7:
                raise ScheduleError(f"bad '{dow}' in the day-of-week field")
        else:
            dow_field = _field(d, 1, 7, "day-of-week")
    return Cron(
        minute=_field(mi, 0, 59, "minutes"),
        hour=_field(hr, 0, 23, "hours"),
        month=_field(mon, 1, 12, "month", MONTHS),
        year=_field(yr, 1970, 2199, "year"),
        dom=None if dom in ("?",) or dom_last else _field(dom, 1, 31, "day-of-month"),
        dom_last=dom_last,
        dow=dow_field,
        dow_nth=dow_nth,
        dow_last=dow_last,
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone '{name}'; expected an IANA name") from None


def check(expr: str, tz: str = "UTC") -> None:
    """Raise :class:`ScheduleError` if ``expr`` is not a schedule Systems Manager accepts."""
    occurrences(expr, datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")), 0, tz)


def occurrences(expr: str, start: datetime, duration_ns: int, tz: str = "UTC") -> list[int]:
    """Moments (ns from ``start``) in ``[0, duration_ns)`` at which the schedule fires."""
    text = expr.strip()
    local = zone(tz)
    m = _RATE.match(text)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise ScheduleError("a rate must be at least 1")
        unit = {"m": 60, "h": 3600, "d": 86400}[m.group(2)[0].lower()]
        step = n * unit * NS
        return list(range(0, duration_ns, step))
    m = _AT.match(text)
    if m:
        when = datetime.fromisoformat(m.group(1)).replace(tzinfo=local)
        off = int((when - start).total_seconds() * NS)
        return [off] if 0 <= off < duration_ns else []
    m = _CRON.match(text)
    if not m:
        raise ScheduleError(
            f"'{expr}' is not a schedule; expected cron(0 2 ? * TUE#2 *), rate(1 day) or "
            "at(2026-01-13T02:00:00)"
        )
    cron = parse_cron(m.group(1))
    out: list[int] = []
    first = start.replace(second=0, microsecond=0)
    if first < start:
        first += timedelta(minutes=1)
    minutes = min(duration_ns // (60 * NS) + 1, MAX_SCAN_MINUTES)
    for k in range(minutes):
        t = first + timedelta(minutes=k)
        off = int((t - start).total_seconds()) * NS
        if off >= duration_ns:
            break
        if cron.matches(t.astimezone(local)):
            out.append(off)
    return out
