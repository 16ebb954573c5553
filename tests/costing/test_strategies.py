"""The strategy comparison prices the tenant's own traffic, read from its records and roll-ups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from costing import model as cost_model
from costing.models import DailyUsage, GpuProfile, Price
from costing.periods import Period
from costing.pricebook import exchange_rate_on
from costing.rollups import roll_up
from costing.strategies import compare_period, usage_summary
from tenancy.context import tenant_context
from tests.costing.conftest import metered, taipei


def test_a_small_teams_day_on_gpt_4o_mini_costs_0_375_dollars_and_11_25_a_month(dave):
    for _ in range(250):
        metered(dave, at=taipei(2025, 3, 10), tokens_in=4_000, tokens_out=1_500)

    with tenant_context(dave.tenant_id):
        roll_up(tenant_id=dave.tenant_id, through=date(2025, 3, 10))
        day = DailyUsage.objects.get()
        month = compare_period(period=Period(date(2025, 3, 10), date(2025, 3, 10)), multiplier=Decimal(30))

    assert day.cost == Decimal("0.375")
    assert month.comparison.cloud_only.usd == Decimal("11.25")
    assert month.comparison.cloud_only.ntd == Decimal("360.00")


def test_the_comparison_uses_where_each_question_was_actually_answered(dave, bob):
    metered(dave, at=taipei(2025, 3, 3), tokens_in=3_000, tokens_out=500)
    metered(bob, at=taipei(2025, 3, 3), backend="local", tokens_in=1_000, tokens_out=200, latency_ms=1_500.0)
    metered(bob, at=taipei(2025, 3, 4), backend="extractive")
    metered(bob, at=taipei(2025, 3, 4), backend="none", tokens_in=0, tokens_out=0)

    with tenant_context(dave.tenant_id):
        summary = usage_summary(period=Period(date(2025, 3, 1), date(2025, 3, 31)))

    assert summary.cloud == cost_model.RouteUsage(questions=1, tokens_in=3_000, tokens_out=500)
    assert summary.local == cost_model.RouteUsage(
        questions=1, tokens_in=1_000, tokens_out=200, gpu_seconds=Decimal("1.5")
    )
    assert summary.without_model_questions == 2


def test_the_comparison_matches_the_cost_model_on_the_same_traffic(dave, bob):
    metered(dave, at=taipei(2025, 3, 3), tokens_in=3_000, tokens_out=500)
    metered(bob, at=taipei(2025, 3, 3), backend="local", tokens_in=1_000, tokens_out=200)
    period = Period(date(2025, 3, 1), date(2025, 3, 30))

    with tenant_context(dave.tenant_id):
        report = compare_period(period=period, multiplier=Decimal(5))
        price = Price.objects.get(model="gpt-4o-mini").as_price()

    comparison = report.comparison
    assert report.price.model == "gpt-4o-mini"  # the model last charged in the period
    assert comparison.cloud_only.usd == Decimal("0.01")  # (4,000 × 0.15 + 700 × 0.60) / 1M × 5 = 0.0051
    assert comparison.profiles[0].local_only.cost == cost_model.Money(usd=Decimal("1469.00"), ntd=Decimal("47008.00"))
    assert comparison.profiles[0].hybrid.usd == Decimal("1469.00")
    assert comparison.cheapest == "cloud only"
    assert comparison.profiles[0].break_even == cost_model.break_even(_profile(dave), price, mix=report.usage.model)
    assert report.model_questions_per_month == 10


def _profile(member) -> cost_model.GpuProfile:
    with tenant_context(member.tenant_id):
        return GpuProfile.objects.get().as_gpu_profile(exchange_rate=exchange_rate_on(on=date(2025, 3, 30)))


def test_a_chosen_cloud_model_is_used_instead_of_the_default(dave):
    metered(dave, at=taipei(2025, 3, 3), tokens_in=1_000_000, tokens_out=0)

    with tenant_context(dave.tenant_id):
        gpt_4o = Price.objects.get(model="gpt-4o")
        report = compare_period(period=Period(date(2025, 3, 1), date(2025, 3, 31)), price_id=gpt_4o.pk)

    assert report.price == gpt_4o
    assert report.comparison.cloud_only.usd == Decimal("2.50")


def test_without_traffic_the_comparison_still_shows_each_profiles_fixed_cost(acme_costing):
    with tenant_context(acme_costing.pk):
        report = compare_period(period=Period(date(2025, 3, 1), date(2025, 3, 30)))

    assert not report.has_model_traffic
    assert report.comparison.cloud_only.usd == 0
    assert report.comparison.profiles[0].local_only.cost.usd == Decimal("1469.00")
    assert report.comparison.profiles[0].break_even is None
