"""Reading usage totals: from the daily roll-up for the days it covers, from the records for the days after.

Reports therefore cost the same at a million records as at a thousand: at most one day or two of raw
records is summed on the fly, the rest is read from roll-up rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from costing import model as cost_model
from costing.models import CostKind, DailyUsage, MonthlyUsage, RollupProgress, UsageRecord
from costing.periods import Period

GROUPINGS = ("day", "month", "department", "route", "backend")


@dataclass(frozen=True)
class UsageSums:
    """Questions, tokens, GPU time and metered cost added up over some usage records."""

    questions: int = 0
    tokens_in: int = 0
    cached_tokens_in: int = 0
    tokens_out: int = 0
    gpu_seconds: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    estimated_questions: int = 0
    unpriced_questions: int = 0

    def __add__(self, other: UsageSums) -> UsageSums:
        # Spelled out rather than looped over fields(): reports add thousands of these per page.
        return UsageSums(
            self.questions + other.questions,
            self.tokens_in + other.tokens_in,
            self.cached_tokens_in + other.cached_tokens_in,
            self.tokens_out + other.tokens_out,
            self.gpu_seconds + other.gpu_seconds,
            self.cost + other.cost,
            self.estimated_questions + other.estimated_questions,
            self.unpriced_questions + other.unpriced_questions,
        )

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.tokens_in + self.tokens_out

    def as_route_usage(self) -> cost_model.RouteUsage:
        """The sums as the cost model's RouteUsage."""
        return cost_model.RouteUsage(
            questions=self.questions,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cached_tokens_in=self.cached_tokens_in,
            gpu_seconds=self.gpu_seconds,
        )


SUM_NAMES = tuple(item.name for item in fields(UsageSums))


def _rollup_sums() -> dict[str, Sum]:
    return {name: Sum(name) for name in SUM_NAMES}


def _record_sums() -> dict[str, Sum | Count]:
    return {
        "questions": Count("id"),
        "tokens_in": Sum("tokens_in"),
        "cached_tokens_in": Sum("cached_tokens_in"),
        "tokens_out": Sum("tokens_out"),
        "gpu_seconds": Sum("gpu_seconds"),
        "cost": Sum("cost"),
        "estimated_questions": Count("id", filter=Q(tokens_estimated=True)),
        "unpriced_questions": Count("id", filter=Q(cost_kind=CostKind.UNPRICED)),
    }


def _as_sums(values: Sequence) -> UsageSums:
    """Sums read in SUM_NAMES order; a sum over no row is None, which counts as zero."""
    questions, tokens_in, cached_tokens_in, tokens_out, gpu_seconds, cost, estimated, unpriced = values
    return UsageSums(
        questions or 0,
        tokens_in or 0,
        cached_tokens_in or 0,
        tokens_out or 0,
        gpu_seconds or Decimal(0),
        cost or Decimal(0),
        estimated or 0,
        unpriced or 0,
    )


def start_of_day(day: date) -> datetime:
    """Midnight at the start of a day in the configured time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def rolled_up_through() -> date | None:
    """The last day of the current tenant's usage that is in the daily roll-up."""
    return RollupProgress.objects.values_list("daily_through", flat=True).first()


def usage_sums(*, period: Period, by: Sequence[str]) -> dict[tuple, UsageSums]:
    """The current tenant's usage in a period, summed per combination of the `by` keys (day, month, ...)."""
    unknown = set(by) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"cannot group usage by {sorted(unknown)}")
    rolled = rolled_up_through()
    totals: dict[tuple, UsageSums] = {}

    width = len(by)

    def add(rows) -> None:
        for row in rows.values_list(*by, *SUM_NAMES):
            key, sums = row[:width], _as_sums(row[width:])
            totals[key] = totals[key] + sums if key in totals else sums

    if rolled is not None and rolled >= period.first_day:
        last_rolled = min(rolled, period.last_day)
        daily = DailyUsage.objects.filter(day__range=(period.first_day, last_rolled))
        if "month" in by:
            daily = daily.annotate(month=TruncMonth("day"))
        add(daily.values(*by).annotate(**_rollup_sums()).order_by())
    first_raw = period.first_day if rolled is None else max(period.first_day, rolled + timedelta(days=1))
    if first_raw <= period.last_day:
        records = UsageRecord.objects.filter(
            occurred_at__gte=start_of_day(first_raw), occurred_at__lt=start_of_day(period.last_day + timedelta(days=1))
        )
        if "day" in by or "month" in by:
            records = records.annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        if "month" in by:
            records = records.annotate(month=TruncMonth("day"))
        add(records.values(*by).annotate(**_record_sums()).order_by())
    return totals


def monthly_sums(*, first_month: date, last_month: date, by: Sequence[str]) -> dict[tuple, UsageSums]:
    """Usage per month from the monthly roll-up (months as far as they are rolled up), grouped as asked."""
    keys = ("month", *by)
    rows = MonthlyUsage.objects.filter(month__range=(first_month, last_month)).values(*keys)
    totals: dict[tuple, UsageSums] = {}
    for row in rows.annotate(**_rollup_sums()).order_by().values_list(*keys, *SUM_NAMES):
        key, sums = row[: len(keys)], _as_sums(row[len(keys) :])
        totals[key] = totals[key] + sums if key in totals else sums
    return totals
