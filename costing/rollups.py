"""Daily and monthly usage roll-ups per department, and the monthly local cost allocation that follows them.

Idempotent by construction: a roll-up deletes the rows of the days (or months) it covers and inserts them
again from the source, in one transaction, so running it twice, or after a late record, gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from costing.allocation import allocate_month, store_allocation
from costing.models import CostKind, DailyUsage, MonthlyUsage, RollupProgress, UsageRecord
from costing.periods import Period, first_of_month, local_day, months_between, today
from costing.usage import start_of_day

_DAILY_SQL = """
INSERT INTO costing_dailyusage
    (tenant_id, day, department_id, route, backend, questions, tokens_in, cached_tokens_in, tokens_out,
     gpu_seconds, cost, estimated_questions, unpriced_questions)
SELECT tenant_id, (occurred_at AT TIME ZONE %(zone)s)::date, department_id, route, backend, count(*),
    sum(tokens_in), sum(cached_tokens_in), sum(tokens_out), sum(gpu_seconds), sum(cost),
    count(*) FILTER (WHERE tokens_estimated), count(*) FILTER (WHERE cost_kind = %(unpriced)s)
FROM costing_usagerecord
WHERE tenant_id = %(tenant)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
GROUP BY 1, 2, 3, 4, 5
"""

_MONTHLY_SQL = """
INSERT INTO costing_monthlyusage
    (tenant_id, month, department_id, route, backend, questions, tokens_in, cached_tokens_in, tokens_out,
     gpu_seconds, cost, estimated_questions, unpriced_questions)
SELECT tenant_id, date_trunc('month', day)::date, department_id, route, backend, sum(questions),
    sum(tokens_in), sum(cached_tokens_in), sum(tokens_out), sum(gpu_seconds), sum(cost),
    sum(estimated_questions), sum(unpriced_questions)
FROM costing_dailyusage
WHERE tenant_id = %(tenant)s AND day >= %(first)s AND day < %(end)s
GROUP BY 1, 2, 3, 4, 5
"""


@dataclass(frozen=True)
class RollupResult:
    """What one roll-up run covered and wrote."""

    period: Period | None
    daily_rows: int
    monthly_rows: int
    months_allocated: tuple[date, ...]


@transaction.atomic
def roll_up_days(*, tenant_id: int, period: Period) -> int:
    """Rebuild the daily roll-up rows of a period from the usage records; returns the rows written."""
    DailyUsage.objects.filter(day__range=(period.first_day, period.last_day)).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            _DAILY_SQL,
            {
                "zone": timezone.get_current_timezone_name(),
                "unpriced": CostKind.UNPRICED,
                "tenant": tenant_id,
                "start": start_of_day(period.first_day),
                "end": start_of_day(period.last_day + timedelta(days=1)),
            },
        )
        return cursor.rowcount


@transaction.atomic
def roll_up_months(*, tenant_id: int, first_month: date, last_month: date) -> int:
    """Rebuild the monthly roll-up rows of some months from the daily roll-up; returns the rows written."""
    first_month, last_month = first_of_month(first_month), first_of_month(last_month)
    end = (last_month + timedelta(days=32)).replace(day=1)
    MonthlyUsage.objects.filter(month__range=(first_month, last_month)).delete()
    with connection.cursor() as cursor:
        cursor.execute(_MONTHLY_SQL, {"tenant": tenant_id, "first": first_month, "end": end})
        return cursor.rowcount


def _first_usage_day() -> date | None:
    first = UsageRecord.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    return None if first is None else local_day(first)


@transaction.atomic
def roll_up(*, tenant_id: int, through: date | None = None) -> RollupResult:
    """Bring the current tenant's roll-ups and allocations up to a complete day (yesterday by default).

    Starts again from the last day already rolled up (so a record that arrived late is counted), or from
    the first record for a tenant never rolled up; the months it touches are rolled up and allocated again.
    """
    through = through or today() - timedelta(days=1)
    progress, _ = RollupProgress.objects.select_for_update().get_or_create(tenant_id=tenant_id)
    if progress.daily_through is not None:
        first_day = min(progress.daily_through, through)
    else:
        first_day = _first_usage_day() or through
    first_day = min(first_day, through)
    period = Period(first_day, through)
    daily_rows = roll_up_days(tenant_id=tenant_id, period=period)
    monthly_rows = roll_up_months(tenant_id=tenant_id, first_month=period.first_day, last_month=period.last_day)
    months = tuple(months_between(period.first_day, period.last_day))
    progress.daily_through = max(through, progress.daily_through or through)
    progress.save(update_fields=["daily_through"])
    for month in months:
        store_allocation(tenant_id=tenant_id, allocation=allocate_month(tenant_id=tenant_id, month=month))
    return RollupResult(period=period, daily_rows=daily_rows, monthly_rows=monthly_rows, months_allocated=months)
