"""The cost model, checked against the reference figures and by properties that must hold for any input."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.model import (
    BudgetLevel,
    ExchangeRate,
    ForecastMethod,
    GpuProfile,
    Price,
    PriceNotFound,
    Purchase,
    QuestionUsage,
    Rental,
    RouteUsage,
    UsageSummary,
    allocate,
    break_even,
    budget_state,
    capacity_tokens_per_month,
    cloud_cost,
    cloud_cost_at_volume,
    compare_strategies,
    forecast_month_end,
    local_cost_at_volume,
    month_length,
    monthly_cost,
    price_in_effect,
    summarize_usage,
    thresholds_crossed,
)
from costing.price_list import load_price_list

RATE = ExchangeRate(ntd_per_usd=Decimal(32), on=date(2026, 11, 2))
PROPERTY_SETTINGS = settings(database=None, max_examples=200, deadline=None)


def a100_bought_outright(**changes: object) -> GpuProfile:
    """The reference deployment: one A100 bought for $12,000, 400 W around the clock, 0.2 FTE."""
    profile = GpuProfile(
        name="A100 purchase",
        acquisition=Purchase(hardware_cost=Decimal(12_000), amortization_months=36),
        power_watts=Decimal(400),
        electricity_price_per_kwh=Decimal("4.0"),
        exchange_rate=RATE,
        throughput_tokens_per_second=Decimal(1_000),
        staff_fte=Decimal("0.2"),
        staff_monthly_cost_per_fte=Decimal(5_500),
    )
    return replace(profile, **changes)


def gpt_4o_mini() -> Price:
    prices = load_price_list().prices
    return price_in_effect(prices, provider="openai", model="gpt-4o-mini", on=date(2026, 11, 28))


def small_team_day() -> RouteUsage:
    """A day of a small team's questions: 250 questions of 4,000 tokens in and 1,500 out."""
    return RouteUsage(questions=250, tokens_in=250 * 4_000, tokens_out=250 * 1_500)


# Reference figures


def test_one_a100_bought_outright_costs_1469_dollars_or_47008_ntd_a_month():
    breakdown = monthly_cost(a100_bought_outright())

    assert breakdown.hardware.usd == Decimal(333)
    assert breakdown.energy_kwh == Decimal(288)
    assert breakdown.power.ntd == Decimal(1_152)
    assert breakdown.power.usd == Decimal(36)
    assert breakdown.staff.usd == Decimal(1_100)
    assert breakdown.other.usd == Decimal(0)
    assert breakdown.total.usd == Decimal(1_469)
    assert breakdown.total.ntd == Decimal(47_008)


def test_every_ntd_line_of_the_reference_is_its_stated_dollar_line_at_32():
    breakdown = monthly_cost(a100_bought_outright())

    assert breakdown.hardware.ntd == Decimal(333 * 32)
    assert breakdown.staff.ntd == Decimal(1_100 * 32)
    assert breakdown.total.ntd == breakdown.total.usd * RATE.ntd_per_usd


def test_gpt_4o_mini_for_a_small_team_costs_0_375_a_day_and_11_25_a_month():
    price = gpt_4o_mini()
    day = small_team_day()

    assert (price.input_per_million, price.output_per_million) == (Decimal("0.15"), Decimal("0.60"))
    assert cloud_cost(price, day.tokens_in, day.tokens_out) == Decimal("0.375")

    month = RouteUsage(questions=day.questions * 30, tokens_in=day.tokens_in * 30, tokens_out=day.tokens_out * 30)
    comparison = compare_strategies(
        usage=UsageSummary(cloud=month), cloud_price=price, profiles=[], period_days=30, exchange_rate=RATE
    )
    assert comparison.cloud_only.usd == Decimal("11.25")
    assert comparison.cloud_only.ntd == Decimal("360.00")


def test_a_600_watt_gpu_raises_the_electricity_line_by_576_ntd():
    at_400_watts = monthly_cost(a100_bought_outright())
    at_600_watts = monthly_cost(a100_bought_outright(power_watts=Decimal(600)))

    assert at_600_watts.energy_kwh == Decimal(432)
    assert at_600_watts.power.ntd - at_400_watts.power.ntd == Decimal(576)
    assert at_600_watts.total.ntd - at_400_watts.total.ntd == Decimal(576)


# GPU profiles


def test_a_rented_gpu_costs_its_hourly_rate_for_the_hours_it_runs():
    rented = GpuProfile(
        name="H100 rental, office hours",
        acquisition=Rental(hourly_rate=Decimal("2.50")),
        power_watts=Decimal(0),
        electricity_price_per_kwh=Decimal("4.0"),
        exchange_rate=RATE,
        throughput_tokens_per_second=Decimal(2_500),
        hours_per_day=Decimal(10),
        days_per_month=22,
        staff_fte=Decimal("0.1"),
        staff_monthly_cost_per_fte=Decimal(5_500),
    )

    breakdown = monthly_cost(rented)

    assert breakdown.hardware.usd == Decimal(550)
    assert breakdown.power.usd == Decimal(0)
    assert breakdown.total.usd == Decimal(1_100)
    assert breakdown.total.ntd == Decimal(35_200)
    assert capacity_tokens_per_month(rented) == Decimal(2_500 * 3_600 * 10 * 22)


def test_monthly_lines_are_stated_in_whole_units_rounding_half_up():
    half_dollar_of_hardware = a100_bought_outright(
        acquisition=Purchase(hardware_cost=Decimal(18), amortization_months=36),
        power_watts=Decimal(0),
        staff_fte=Decimal(0),
    )

    assert monthly_cost(half_dollar_of_hardware).hardware.usd == Decimal(1)


def test_staff_and_other_costs_do_not_grow_with_the_number_of_gpus():
    one = monthly_cost(a100_bought_outright(other_monthly_cost=Decimal(50)))
    three = monthly_cost(a100_bought_outright(other_monthly_cost=Decimal(50)), gpus=3)

    assert three.hardware.usd == Decimal(1_000)
    assert three.energy_kwh == 3 * one.energy_kwh
    assert (three.staff, three.other) == (one.staff, one.other)


@PROPERTY_SETTINGS
@given(
    hardware_cost=st.decimals(min_value=0, max_value=100_000, places=2),
    months=st.integers(min_value=1, max_value=60),
    watts=st.integers(min_value=0, max_value=3_000),
    kwh_price=st.decimals(min_value=0, max_value=10, places=2),
    staff_fte=st.decimals(min_value=0, max_value=3, places=2),
    other=st.decimals(min_value=0, max_value=5_000, places=2),
    ntd_per_usd=st.decimals(min_value=20, max_value=40, places=3),
    gpus=st.integers(min_value=1, max_value=8),
)
def test_a_breakdown_always_adds_up_as_printed(
    hardware_cost, months, watts, kwh_price, staff_fte, other, ntd_per_usd, gpus
):
    profile = a100_bought_outright(
        acquisition=Purchase(hardware_cost=hardware_cost, amortization_months=months),
        power_watts=Decimal(watts),
        electricity_price_per_kwh=kwh_price,
        staff_fte=staff_fte,
        other_monthly_cost=other,
        exchange_rate=ExchangeRate(ntd_per_usd=ntd_per_usd, on=date(2026, 11, 2)),
    )

    breakdown = monthly_cost(profile, gpus=gpus)
    lines = (breakdown.hardware, breakdown.power, breakdown.staff, breakdown.other)

    assert breakdown.total.usd == sum(line.usd for line in lines)
    assert breakdown.total.ntd == sum(line.ntd for line in lines)
    assert all(line.usd == line.usd.to_integral_value() for line in lines)
    assert all(line.ntd == line.ntd.to_integral_value() for line in lines)


def test_a_float_price_is_refused():
    with pytest.raises(TypeError):
        Price(provider="openai", model="gpt-4o-mini", input_per_million=0.15, output_per_million=Decimal("0.6"))


# Cloud prices


def test_cached_input_tokens_cost_the_cached_price_and_count_as_part_of_the_input():
    price = gpt_4o_mini()

    assert cloud_cost(price, 1_000_000, 0, cached_tokens_in=400_000) == Decimal("0.12")
    with pytest.raises(ValueError):
        cloud_cost(price, 1_000, 0, cached_tokens_in=1_001)


def test_without_a_cached_price_cached_tokens_cost_the_input_price():
    price = Price(provider="local-vendor", model="m", input_per_million=Decimal(1), output_per_million=Decimal(2))

    assert cloud_cost(price, 1_000_000, 0, cached_tokens_in=1_000_000) == Decimal(1)


def test_a_question_is_priced_at_the_price_in_effect_the_day_it_was_asked():
    before_change = Price(
        provider="openai",
        model="gpt-4o",
        input_per_million=Decimal(5),
        output_per_million=Decimal(15),
        effective_from=date(2024, 5, 13),
    )
    after_change = Price(
        provider="openai",
        model="gpt-4o",
        input_per_million=Decimal("2.50"),
        cached_input_per_million=Decimal("1.25"),
        output_per_million=Decimal(10),
        effective_from=date(2024, 10, 2),
    )
    book = [after_change, before_change]

    asked_in_september = price_in_effect(book, provider="openai", model="gpt-4o", on=date(2024, 9, 30))
    asked_on_the_day = price_in_effect(book, provider="openai", model="gpt-4o", on=date(2024, 10, 2))

    assert cloud_cost(asked_in_september, 2_000, 500) == Decimal("0.0175")
    assert cloud_cost(asked_on_the_day, 2_000, 500) == Decimal("0.01")


def test_a_later_price_change_never_rewrites_history():
    first = Price(
        provider="google",
        model="gemini-2.5-flash",
        input_per_million=Decimal("0.30"),
        output_per_million=Decimal("2.50"),
        effective_from=date(2025, 6, 17),
    )
    book = [first]
    before = price_in_effect(book, provider="google", model="gemini-2.5-flash", on=date(2026, 3, 1))

    book.append(replace(first, input_per_million=Decimal("0.20"), effective_from=date(2026, 4, 1)))

    assert price_in_effect(book, provider="google", model="gemini-2.5-flash", on=date(2026, 3, 1)) == before
    assert price_in_effect(
        book, provider="google", model="gemini-2.5-flash", on=date(2026, 4, 1)
    ).input_per_million == (Decimal("0.20"))


def test_a_question_asked_before_any_price_has_no_price():
    with pytest.raises(PriceNotFound):
        price_in_effect(load_price_list().prices, provider="openai", model="gpt-4.1", on=date(2025, 4, 13))


def test_two_prices_from_the_same_day_are_ambiguous():
    price = gpt_4o_mini()

    with pytest.raises(ValueError):
        price_in_effect([price, replace(price)], provider="openai", model="gpt-4o-mini", on=date(2026, 1, 1))


def test_the_seed_price_list_covers_the_common_cloud_models():
    price_list = load_price_list()
    models = {(price.provider, price.model) for price in price_list.prices}

    assert {
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4.1"),
        ("openai", "gpt-4.1-mini"),
        ("openai", "o4-mini"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-haiku-4-5"),
        ("google", "gemini-2.5-flash"),
        ("google", "gemini-2.5-pro"),
    } <= models
    for price in price_list.prices:
        assert price.currency == "USD"
        assert price.effective_from <= price_list.taken_on
        assert price.source
        assert price.cached_input_per_million is None or price.cached_input_per_million < price.input_per_million
        assert price.input_per_million < price.output_per_million


# Allocation


def test_a_third_each_still_adds_up_to_the_total():
    shares = allocate(Decimal("100.00"), {"finance": 1, "hr": 1, "it": 1})

    assert shares == {"finance": Decimal("33.34"), "hr": Decimal("33.33"), "it": Decimal("33.33")}
    assert sum(shares.values()) == Decimal("100.00")


def test_the_reference_month_spread_over_gpu_seconds():
    shares = allocate(Decimal(1_469), {"hr": Decimal("1200.5"), "it": Decimal("3601.5"), "legal": 0})

    assert shares == {"hr": Decimal("367.25"), "it": Decimal("1101.75"), "legal": Decimal("0.00")}


def test_a_department_without_usage_is_allocated_nothing():
    shares = allocate(Decimal("10.00"), {7: 0, 3: 5, 5: 5})

    assert shares[7] == Decimal(0)
    assert sum(shares.values()) == Decimal("10.00")


def test_when_nobody_used_anything_nothing_is_allocated():
    assert allocate(Decimal("1469.00"), {"hr": 0, "it": 0}) == {"hr": Decimal(0), "it": Decimal(0)}
    assert allocate(Decimal("1469.00"), {}) == {}


def test_a_total_finer_than_the_quantum_is_refused():
    with pytest.raises(ValueError):
        allocate(Decimal("10.005"), {"hr": 1})


def test_leftover_cents_go_to_the_larger_remainders_then_to_the_larger_users():
    shares = allocate(Decimal("0.05"), {"a": 1, "b": 2, "c": 3, "d": 4})

    assert shares == {"a": Decimal("0.00"), "b": Decimal("0.01"), "c": Decimal("0.02"), "d": Decimal("0.02")}


usage_maps = st.dictionaries(
    keys=st.integers(min_value=1, max_value=10_000),
    values=st.one_of(st.integers(min_value=0, max_value=10**9), st.decimals(min_value=0, max_value=10**6, places=3)),
    max_size=60,
)


@PROPERTY_SETTINGS
@given(cents=st.integers(min_value=0, max_value=10**10), usage=usage_maps)
def test_allocation_always_adds_up_to_exactly_the_total(cents, usage):
    total = Decimal(cents) / 100
    shares = allocate(total, usage)
    total_usage = sum(Fraction(Decimal(amount)) for amount in usage.values())

    assert shares.keys() == usage.keys()
    if total_usage == 0:
        assert all(share == 0 for share in shares.values())
        return
    assert sum(shares.values()) == total
    for key, share in shares.items():
        exact = Fraction(total) * Fraction(Decimal(usage[key])) / total_usage
        assert abs(Fraction(share) - exact) < Fraction(1, 100)
        if usage[key] == 0:
            assert share == 0


@PROPERTY_SETTINGS
@given(cents=st.integers(min_value=0, max_value=10**8), usage=usage_maps)
def test_allocation_does_not_depend_on_the_order_departments_are_listed(cents, usage):
    total = Decimal(cents) / 100
    reversed_usage = dict(reversed(list(usage.items())))

    assert allocate(total, usage) == allocate(total, reversed_usage)


@PROPERTY_SETTINGS
@given(whole=st.integers(min_value=0, max_value=10**6), departments=st.integers(min_value=1, max_value=200))
def test_equal_users_get_shares_at_most_one_quantum_apart(whole, departments):
    shares = allocate(Decimal(whole), dict.fromkeys(range(departments), 1), quantum=Decimal(1))

    assert sum(shares.values()) == whole
    assert max(shares.values()) - min(shares.values()) <= 1


# Strategy comparison


def test_questions_are_summed_by_route():
    summary = summarize_usage(
        [
            QuestionUsage(tokens_in=1_000, tokens_out=200, route="local", gpu_seconds=Decimal("1.5")),
            QuestionUsage(tokens_in=3_000, tokens_out=500, route="cloud", cached_tokens_in=1_000),
            QuestionUsage(tokens_in=0, tokens_out=0, route="extractive"),
            QuestionUsage(tokens_in=0, tokens_out=0, route="refused"),
        ]
    )

    assert summary.local == RouteUsage(questions=1, tokens_in=1_000, tokens_out=200, gpu_seconds=Decimal("1.5"))
    assert summary.cloud == RouteUsage(questions=1, tokens_in=3_000, tokens_out=500, cached_tokens_in=1_000)
    assert summary.without_model_questions == 2
    assert summary.model.tokens == 4_700


def test_a_profile_is_prorated_to_the_period():
    comparison = compare_strategies(
        usage=UsageSummary(local=small_team_day()),
        cloud_price=gpt_4o_mini(),
        profiles=[a100_bought_outright()],
        period_days=15,
        exchange_rate=RATE,
    )

    local_only = comparison.profiles[0].local_only
    assert local_only.gpus_needed == 1
    assert local_only.cost.usd == Decimal("734.50")
    assert local_only.cost.ntd == Decimal("23504.00")


def test_hybrid_is_the_cloud_part_at_cloud_prices_plus_the_profile():
    usage = UsageSummary(
        local=RouteUsage(questions=600, tokens_in=2_400_000, tokens_out=900_000),
        cloud=RouteUsage(questions=400, tokens_in=1_600_000, tokens_out=600_000),
    )

    comparison = compare_strategies(
        usage=usage,
        cloud_price=gpt_4o_mini(),
        profiles=[a100_bought_outright()],
        period_days=30,
        exchange_rate=RATE,
    )
    profile = comparison.profiles[0]

    assert comparison.cloud_only.usd == Decimal("1.50")
    assert profile.hybrid_cloud_part.usd == Decimal("0.60")
    assert profile.hybrid_local_part.cost.usd == Decimal("1469.00")
    assert profile.hybrid.usd == Decimal("1469.60")
    assert comparison.cheapest == "cloud only"


def test_a_ten_times_peak_multiplies_the_cloud_bill_and_can_need_more_gpus():
    one_gpu_month = capacity_tokens_per_month(a100_bought_outright())
    tokens_in = int(one_gpu_month * Decimal("0.6"))
    usage = UsageSummary(local=RouteUsage(questions=100_000, tokens_in=tokens_in, tokens_out=0))

    normal, peak = (
        compare_strategies(
            usage=usage,
            cloud_price=gpt_4o_mini(),
            profiles=[a100_bought_outright()],
            period_days=30,
            exchange_rate=RATE,
            multiplier=multiplier,
        )
        for multiplier in (Decimal(1), Decimal(10))
    )

    assert peak.cloud_only.usd == 10 * normal.cloud_only.usd
    assert normal.profiles[0].local_only.gpus_needed == 1
    assert not normal.profiles[0].local_only.needs_more_than_one_gpu
    assert peak.profiles[0].local_only.gpus_needed == 6
    assert peak.profiles[0].local_only.needs_more_than_one_gpu
    assert peak.profiles[0].local_only.cost.usd == Decimal("3316.00")
    assert peak.profiles[0].local_only.cost.usd == monthly_cost(a100_bought_outright(), gpus=6).total.usd
    assert peak.profiles[0].local_only.utilization == Decimal("1.0000")


def test_break_even_of_the_reference_a100_against_gpt_4o_mini():
    mix = RouteUsage(questions=1, tokens_in=4_000, tokens_out=1_500)

    point = break_even(a100_bought_outright(), gpt_4o_mini(), mix=mix)

    # At $0.0015 a question, one A100 ($1,469) would need 979,334 questions, more than its
    # 471,273 a month; four A100s ($2,577) carry 1,718,000 and cost no more than the cloud.
    assert point.gpus == 4
    assert point.questions_per_month == 1_718_000
    assert point.tokens_per_month == Decimal(1_718_000 * 5_500)
    assert point.monthly_cost.usd == Decimal(2_577)


@PROPERTY_SETTINGS
@given(fraction_below=st.fractions(min_value=0, max_value=1))
def test_below_break_even_the_cloud_is_cheaper_and_at_it_self_hosting_is_not_dearer(fraction_below):
    mix = RouteUsage(questions=1, tokens_in=4_000, tokens_out=1_500)
    profile, price = a100_bought_outright(), gpt_4o_mini()
    point = break_even(profile, price, mix=mix)

    at_break_even = point.questions_per_month
    assert local_cost_at_volume(profile, questions=at_break_even, mix=mix).usd <= cloud_cost_at_volume(
        price, questions=at_break_even, mix=mix
    )
    below = int((at_break_even - 1) * fraction_below)
    assert local_cost_at_volume(profile, questions=below, mix=mix).usd > cloud_cost_at_volume(
        price, questions=below, mix=mix
    )


def test_the_comparison_reports_the_break_even_and_self_hosting_wins_above_it():
    gpt_4o = price_in_effect(load_price_list().prices, provider="openai", model="gpt-4o", on=date(2026, 11, 28))
    per_question = RouteUsage(questions=1, tokens_in=4_000, tokens_out=1_500)
    point = break_even(a100_bought_outright(), gpt_4o, mix=per_question)
    assert (point.questions_per_month, point.gpus) == (58_760, 1)

    questions = point.questions_per_month + 1_000
    busy_month = RouteUsage(questions=questions, tokens_in=questions * 4_000, tokens_out=questions * 1_500)
    comparison = compare_strategies(
        usage=UsageSummary(cloud=busy_month),
        cloud_price=gpt_4o,
        profiles=[a100_bought_outright()],
        period_days=30,
        exchange_rate=RATE,
    )

    assert comparison.profiles[0].break_even == point
    assert comparison.profiles[0].local_only.cost.usd < comparison.cloud_only.usd
    assert comparison.cheapest == "local only: A100 purchase"


def test_a_gpu_too_slow_to_pay_for_itself_never_breaks_even():
    crawling = a100_bought_outright(throughput_tokens_per_second=Decimal(1))

    assert break_even(crawling, gpt_4o_mini(), mix=RouteUsage(questions=1, tokens_in=4_000, tokens_out=1_500)) is None


# Budgets


def test_budget_levels():
    assert budget_state(Decimal("79.99"), 80, 100).level == BudgetLevel.OK
    assert budget_state(Decimal(80), 80, 100).level == BudgetLevel.SOFT_EXCEEDED
    assert budget_state(Decimal("99.99"), 80, 100).level == BudgetLevel.SOFT_EXCEEDED
    assert budget_state(Decimal(100), 80, 100).level == BudgetLevel.HARD_EXCEEDED
    assert budget_state(Decimal(100), 80, 100).hard_limit_reached
    assert budget_state(Decimal(90), None, None).level == BudgetLevel.OK
    assert budget_state(Decimal(90), 80, 100).remaining == Decimal(10)
    assert budget_state(Decimal(120), 80, 100).remaining == Decimal(0)


def test_a_soft_limit_above_the_hard_limit_is_refused():
    with pytest.raises(ValueError):
        budget_state(Decimal(0), 120, 100)


def test_each_threshold_is_reported_once_as_spending_grows():
    spending = [Decimal(amount) for amount in ("70", "80", "85", "90", "100", "130")]
    crossings = [
        thresholds_crossed(before=before, after=after, soft_limit=80, hard_limit=100)
        for before, after in pairwise(spending)
    ]

    assert crossings == [(BudgetLevel.SOFT_EXCEEDED,), (), (), (BudgetLevel.HARD_EXCEEDED,), ()]


def test_one_big_question_can_cross_both_thresholds_and_a_new_month_crosses_none():
    assert thresholds_crossed(before=70, after=100, soft_limit=80, hard_limit=100) == (
        BudgetLevel.SOFT_EXCEEDED,
        BudgetLevel.HARD_EXCEEDED,
    )
    assert thresholds_crossed(before=120, after=0, soft_limit=80, hard_limit=100) == ()


# Forecast


def test_month_average_forecast_is_the_average_day_times_the_days_in_the_month():
    forecast = forecast_month_end([Decimal(10), Decimal(20), Decimal(30)], days_in_month=30)

    assert forecast.spent_to_date == Decimal(60)
    assert forecast.daily_rate == Decimal(20)
    assert forecast.projected_total == Decimal("600.00")


def test_trailing_week_forecast_follows_the_last_seven_days():
    days = [Decimal(100)] * 3 + [Decimal(day) for day in range(1, 8)]

    forecast = forecast_month_end(days, days_in_month=30, method=ForecastMethod.TRAILING_7_DAYS)

    assert forecast.spent_to_date == Decimal(328)
    assert forecast.daily_rate == Decimal(4)
    assert forecast.projected_total == Decimal("408.00")
    assert forecast_month_end(days, days_in_month=30).projected_total == Decimal("984.00")


def test_forecast_before_the_first_day_and_on_the_last_day():
    assert forecast_month_end([], days_in_month=31).projected_total == Decimal("0.00")
    full_month = [Decimal("0.375")] * month_length(date(2026, 11, 28))
    assert forecast_month_end(full_month, days_in_month=30).projected_total == Decimal("11.25")
    with pytest.raises(ValueError):
        forecast_month_end(full_month, days_in_month=28)


def test_month_length_knows_leap_years():
    assert month_length(date(2028, 2, 10)) == 29
    assert month_length(date(2026, 2, 10)) == 28
