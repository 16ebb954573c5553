"""Days and months as the tenant sees them: in the configured time zone, months keyed by their first day."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

# The years reports and comparisons may cover: every date in them has a month before and after it.
FIRST_YEAR = 2000
LAST_YEAR = 2999


@dataclass(frozen=True)
class Period:
    """An inclusive range of days."""

    first_day: date
    last_day: date

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError("a period cannot end before it starts")

    @property
    def days(self) -> int:
        """Number of days in the period, both ends included."""
        return (self.last_day - self.first_day).days + 1

    def each_day(self) -> list[date]:
        """Every day of the period, first day first."""
        return [self.first_day + timedelta(days=offset) for offset in range(self.days)]


def local_day(moment: datetime) -> date:
    """The day a moment falls on in the configured time zone."""
    return timezone.localdate(moment)


def today() -> date:
    """Today in the configured time zone."""
    return timezone.localdate()


def first_of_month(day: date) -> date:
    """The first day of the day's month, the key of monthly rows."""
    return day.replace(day=1)


def month_period(month: date) -> Period:
    """The whole month that contains the day."""
    first_day = first_of_month(month)
    return Period(first_day, first_day.replace(day=calendar.monthrange(first_day.year, first_day.month)[1]))


def previous_month(month: date) -> date:
    """The first day of the month before."""
    return first_of_month(first_of_month(month) - timedelta(days=1))


def parse_month(text: str) -> date:
    """A month written YYYY-MM, as its first day; ValueError otherwise."""
    year, _, month = text.strip().partition("-")
    digits = year.isdecimal() and month.isdecimal()
    if not (digits and len(year) == 4 and len(month) in (1, 2) and 1 <= int(month) <= 12):
        raise ValueError(f"{text!r} is not a month written YYYY-MM")
    if not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise ValueError(f"{text!r} is not a month from {FIRST_YEAR} to {LAST_YEAR}")
    return date(int(year), int(month), 1)


def months_between(first_month: date, last_month: date) -> list[date]:
    """The first days of every month from one month to another, both included."""
    months, month = [], first_of_month(first_month)
    while month <= last_month:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months
