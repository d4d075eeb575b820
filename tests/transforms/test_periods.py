from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from transforms.measure.periods import Calendar, Period, bounds, parse_range, shifted

SHANGHAI = ZoneInfo("Asia/Shanghai")


def micros(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1_000_000)


def test_a_moment_falls_in_its_local_day_iso_week_month_and_custom_ranges():
    calendar = Calendar("Asia/Shanghai", ((date(2026, 11, 1), date(2026, 11, 30)),
                                          (date(2026, 12, 1), date(2026, 12, 31))))
    # 23:30 UTC on 28 November is 07:30 on Sunday 29 November in Qionghai.
    assert calendar.periods(micros("2026-11-28T23:30:00+00:00")) == (
        Period("day", "2026-11-29"), Period("week", "2026-W48"), Period("month", "2026-11"),
        Period("custom", "2026-11-01..2026-11-30"))
    assert calendar.local_date(micros("2026-11-28T15:59:59+00:00")) == date(2026, 11, 28)
    assert calendar.local_date(micros("2026-11-28T16:00:00+00:00")) == date(2026, 11, 29)


def test_a_half_hour_zone_changes_day_on_its_own_midnight():
    calendar = Calendar("Asia/Kolkata")  # UTC+05:30
    assert calendar.local_date(micros("2026-11-28T18:29:59+00:00")) == date(2026, 11, 28)
    assert calendar.local_date(micros("2026-11-28T18:30:00+00:00")) == date(2026, 11, 29)


@pytest.mark.parametrize("period, first, after", [
    (Period("day", "2026-11-29"), date(2026, 11, 29), date(2026, 11, 30)),
    (Period("week", "2026-W48"), date(2026, 11, 23), date(2026, 11, 30)),
    (Period("month", "2026-12"), date(2026, 12, 1), date(2027, 1, 1)),
    (Period("month", "2024-02"), date(2024, 2, 1), date(2024, 3, 1)),
    (Period("custom", "2025-11-29..2026-11-28"), date(2025, 11, 29), date(2026, 11, 29)),
])
def test_bounds_are_the_first_day_and_the_day_after_the_last(period, first, after):
    assert bounds(period) == (first, after)


@pytest.mark.parametrize("period, a_year_earlier", [
    (Period("day", "2026-11-29"), Period("day", "2025-11-29")),
    (Period("week", "2026-W48"), Period("week", "2025-W48")),
    (Period("month", "2026-01"), Period("month", "2025-01")),
    (Period("custom", "2025-11-29..2026-11-28"), Period("custom", "2024-11-29..2025-11-28")),
    (Period("day", "2024-02-29"), None),          # no 29 February in 2023
    (Period("week", "2026-W53"), None),           # 2025 has 52 ISO weeks
    (Period("custom", "2024-02-01..2024-02-29"), None),
])
def test_the_same_period_a_year_earlier(period, a_year_earlier):
    assert shifted(period, -1) == a_year_earlier
    if a_year_earlier is not None:
        assert shifted(a_year_earlier, 1) == period


def test_the_local_midnight_that_opens_a_day():
    calendar = Calendar("Asia/Shanghai")
    assert calendar.micros(date(2026, 11, 29)) == micros("2026-11-29T00:00:00+08:00")


@pytest.mark.parametrize("text", ["2026-11-29", "2026-11-29..", "2026-11-30..2026-11-29", "last week"])
def test_a_bad_range_is_refused_with_the_expected_form(text):
    with pytest.raises(ValueError, match="FROM..TO"):
        parse_range(text)
