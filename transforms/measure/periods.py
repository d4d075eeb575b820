"""Reporting periods in the city's local calendar, and the same period a year earlier.

A period is named by its kind and a label an analyst can read and type:

| kind   | label                    | a year earlier           |
|--------|--------------------------|--------------------------|
| day    | 2026-11-29               | 2025-11-29               |
| week   | 2026-W48 (ISO week)      | 2025-W48                 |
| month  | 2026-11                  | 2025-11                  |
| custom | 2025-11-30..2026-11-29   | 2024-11-30..2025-11-29   |

A day, week or range with no counterpart a year earlier (29 February, ISO
week 53) has none, and its year-ago figures stay null.
"""
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple, Optional
from zoneinfo import ZoneInfo

KINDS = ("day", "week", "month", "custom")
RANGE = ".."


class Period(NamedTuple):
    kind: str
    label: str


def parse_range(text: str) -> tuple[date, date]:
    """`FROM..TO` (inclusive ISO dates) as two dates; ValueError if it is not one."""
    problem = f"{text!r}: expected FROM..TO, two ISO dates in order (2025-12-01..2026-11-29)"
    first, sep, last = text.partition(RANGE)
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise ValueError(problem) from None
    if not sep or end < start:
        raise ValueError(problem)
    return start, end


def _shift_year(day: date, years: int) -> Optional[date]:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return None


def bounds(period: Period) -> tuple[date, date]:
    """First day and the day after the last day of a period."""
    kind, label = period
    if kind == "day":
        first = date.fromisoformat(label)
        return first, first + timedelta(days=1)
    if kind == "week":
        year, week = label.split("-W")
        first = date.fromisocalendar(int(year), int(week), 1)
        return first, first + timedelta(days=7)
    if kind == "month":
        first = date.fromisoformat(label + "-01")
        return first, (first + timedelta(days=32)).replace(day=1)
    start, end = parse_range(label)
    return start, end + timedelta(days=1)


def shifted(period: Period, years: int) -> Optional[Period]:
    """The same period `years` later (negative: earlier), or None if there is none."""
    kind, label = period
    if kind == "week":
        year, week = label.split("-W")
        try:
            date.fromisocalendar(int(year) + years, int(week), 1)
        except ValueError:  # that year has no week 53
            return None
        return Period(kind, f"{int(year) + years}-W{week}")
    if kind == "month":
        year, month = label.split("-")
        return Period(kind, f"{int(year) + years}-{month}")
    if kind == "day":
        moved = _shift_year(date.fromisoformat(label), years)
        return Period(kind, moved.isoformat()) if moved else None
    start, end = (_shift_year(d, years) for d in parse_range(label))
    return Period(kind, f"{start}{RANGE}{end}") if start and end else None


class Calendar:
    """Which periods a moment falls in, in one time zone.

    Cached per quarter hour of UTC: every UTC offset in use is whole quarters.
    """

    def __init__(self, zone: str, custom: tuple[tuple[date, date], ...] = ()):
        self._zone = ZoneInfo(zone)
        self._custom = custom
        self._by_quarter: dict[int, tuple[date, tuple[Period, ...]]] = {}

    def local_date(self, at_us: int) -> date:
        return self._periods(at_us)[0]

    def periods(self, at_us: int) -> tuple[Period, ...]:
        return self._periods(at_us)[1]

    def _periods(self, at_us: int):
        quarter = at_us // 900_000_000
        found = self._by_quarter.get(quarter)
        if found is None:
            day = datetime.fromtimestamp(at_us / 1e6, tz=UTC).astimezone(self._zone).date()
            year, week, _ = day.isocalendar()
            periods = [Period("day", day.isoformat()), Period("week", f"{year}-W{week:02d}"),
                       Period("month", f"{day:%Y-%m}")]
            periods += [Period("custom", f"{start}{RANGE}{end}")
                        for start, end in self._custom if start <= day <= end]
            found = self._by_quarter[quarter] = (day, tuple(periods))
        return found

    def micros(self, day: date) -> int:
        """Local midnight at the start of `day`, in microseconds since the epoch."""
        return round(datetime.combine(day, time(), self._zone).timestamp() * 1_000_000)
