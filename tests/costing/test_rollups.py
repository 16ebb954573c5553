"""Daily and monthly roll-ups: idempotent, catching late records, and read by reports with the recent records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum

from config.celery import app
from costing.models import DailyUsage, MonthlyUsage, RollupProgress, UsageRecord
from costing.periods import Period, today
from costing.reports import month_report
from costing.rollups import roll_up
from costing.schedule import BEAT_SCHEDULE
from costing.tasks import roll_up_all_tenants
from costing.usage import usage_sums
from tenancy.context import tenant_context
from tests.costing.conftest import metered, taipei


def rows(model) -> list[tuple]:
    fields = ["department__code", "route", "backend", "questions", "tokens_in", "tokens_out", "cost"]
    key = "day" if model is DailyUsage else "month"
    return list(model.objects.order_by(key, "department__code", "route").values_list(key, *fields))


def a_month_of_questions(bob, dave) -> None:
    for day in (1, 2, 15, 31):
        metered(dave, at=taipei(2025, 3, day), backend="cloud")
        metered(bob, at=taipei(2025, 3, day), backend="local")
    metered(bob, at=taipei(2025, 4, 1, hour=0), backend="extractive")


def test_running_the_roll_up_twice_gives_the_same_rows(acme_costing, bob, dave):
    a_month_of_questions(bob, dave)

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 30))
        first = rows(DailyUsage), rows(MonthlyUsage)
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 30))
        second = rows(DailyUsage), rows(MonthlyUsage)

    assert first == second
    assert len(first[0]) == 9
    assert [(row[0], row[2], row[4]) for row in first[1]] == [
        (date(2025, 3, 1), "cloud", 4),
        (date(2025, 3, 1), "local", 4),
        (date(2025, 4, 1), "extractive", 1),
    ]


def test_the_roll_up_adds_up_to_the_records(acme_costing, bob, dave):
    a_month_of_questions(bob, dave)

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 30))
        raw = UsageRecord.objects.aggregate(questions=Count("id"), tokens=Sum("tokens_in"), cost=Sum("cost"))
        daily = DailyUsage.objects.aggregate(questions=Sum("questions"), tokens=Sum("tokens_in"), cost=Sum("cost"))
        monthly = MonthlyUsage.objects.aggregate(questions=Sum("questions"), tokens=Sum("tokens_in"), cost=Sum("cost"))

    assert raw == daily == monthly
    assert raw["cost"] == Decimal("0.006")


def test_days_are_counted_in_taipei_time(acme_costing, dave):
    metered(dave, at=taipei(2025, 3, 31, hour=23))
    metered(dave, at=taipei(2025, 4, 1, hour=0))

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 30))
        days = list(DailyUsage.objects.values_list("day", flat=True))
        months = list(MonthlyUsage.objects.values_list("month", flat=True))

    assert days == [date(2025, 3, 31), date(2025, 4, 1)]
    assert months == [date(2025, 3, 1), date(2025, 4, 1)]


def test_a_record_that_arrives_after_its_day_was_rolled_up_is_counted_next_time(acme_costing, dave):
    metered(dave, at=taipei(2025, 3, 10))
    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 10))
    metered(dave, at=taipei(2025, 3, 10, hour=22))

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 11))
        assert DailyUsage.objects.get(day=date(2025, 3, 10)).questions == 2
        assert RollupProgress.objects.get().daily_through == date(2025, 3, 11)


def test_reports_read_the_roll_up_and_the_records_after_it_alike(acme_costing, bob, dave):
    a_month_of_questions(bob, dave)
    period = Period(date(2025, 3, 1), date(2025, 3, 31))
    with tenant_context(acme_costing.pk):
        from_records = usage_sums(period=period, by=("department", "route"))
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 14))
        half_rolled = usage_sums(period=period, by=("department", "route"))
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 30))
        all_rolled = usage_sums(period=period, by=("department", "route"))

    assert from_records == half_rolled == all_rolled
    assert from_records[(dave.department_id, "cloud")].questions == 4


def test_the_beat_task_rolls_up_every_tenant_each_in_its_own_tenant(acme_costing, globex_costing, dave, carol):
    yesterday = today() - timedelta(days=1)
    when = taipei(yesterday.year, yesterday.month, yesterday.day)
    metered(dave, at=when)
    metered(carol, at=when, backend="local")

    assert roll_up_all_tenants.delay().get() == 2

    with tenant_context(acme_costing.pk):
        assert list(DailyUsage.objects.values_list("department__code", "route")) == [("ENG", "cloud")]
        assert RollupProgress.objects.get().daily_through == yesterday
    with tenant_context(globex_costing.pk):
        assert list(DailyUsage.objects.values_list("department__code", "route")) == [("OPS", "local")]


def test_the_beat_schedule_names_a_registered_task():
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_a_past_month_report_matches_its_records(acme_costing, bob, dave):
    a_month_of_questions(bob, dave)
    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 30))
        report = month_report(tenant_id=acme_costing.pk, month=date(2025, 3, 1))

    assert not report.in_progress
    assert report.forecast is None
    assert report.questions == 8
    assert report.metered.usd == Decimal("0.0060")
    assert report.local.usd == Decimal("1469.00")
    assert report.total.ntd == Decimal("47008.192")  # NT$47,008 local plus $0.006 × 32 metered
    by_code = {line.code: line for line in report.departments}
    assert by_code["IT"].local_share.usd == Decimal("1469.00")
    assert by_code["ENG"].questions_by_route["cloud"] == 4
    assert sum(line.local_usd for line in report.days) == Decimal("1469.00")
