"""The price book, GPU profiles and exchange rate every tenant starts with, and what finance may change."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from costing.defaults import seed_tenant
from costing.models import CostingSettings, ExchangeRate, GpuProfile, Price
from costing.price_list import load_price_list
from costing.pricebook import exchange_rate_on, price_book, price_in_effect, save_exchange_rate, save_price
from costing.profiles import deployment_cost, save_gpu_profile
from tenancy.context import tenant_context


def test_a_new_tenant_gets_the_shipped_prices_the_reference_profile_and_a_rate(acme_costing, in_tenant):
    shipped = load_price_list().prices

    with in_tenant(acme_costing):
        assert Price.objects.count() == len(shipped)
        assert GpuProfile.objects.get().name == "A100 80GB, bought"
        assert ExchangeRate.objects.get().ntd_per_usd == Decimal(32)
        assert CostingSettings.objects.get().deployed_profile.name == "A100 80GB, bought"


def test_seeding_again_adds_nothing_and_keeps_the_tenants_edits(acme_costing, in_tenant):
    with in_tenant(acme_costing):
        GpuProfile.objects.update(power_watts=Decimal(600))

    again = seed_tenant(tenant_id=acme_costing.pk)

    assert (again.prices, again.gpu_profiles, again.exchange_rates, again.settings_created) == (0, 0, 0, False)
    with in_tenant(acme_costing):
        assert GpuProfile.objects.get().power_watts == Decimal(600)


def test_the_seeded_profile_costs_the_reference_1469_dollars_or_47008_ntd_a_month(acme_costing, in_tenant):
    with in_tenant(acme_costing):
        breakdown = deployment_cost(profile=GpuProfile.objects.get(), on=date(2026, 11, 28))

    assert breakdown.hardware.usd == Decimal(333)
    assert breakdown.energy_kwh == Decimal(288)
    assert breakdown.power.ntd == Decimal(1_152)
    assert breakdown.power.usd == Decimal(36)
    assert breakdown.staff.usd == Decimal(1_100)
    assert breakdown.total.usd == Decimal(1_469)
    assert breakdown.total.ntd == Decimal(47_008)


def test_a_600_watt_draw_raises_the_electricity_line_by_576_ntd(acme_costing, in_tenant):
    with in_tenant(acme_costing):
        profile = GpuProfile.objects.get()
        before = deployment_cost(profile=profile, on=date(2026, 11, 28)).power.ntd
        save_gpu_profile(tenant_id=acme_costing.pk, profile_id=profile.pk, fields={"power_watts": Decimal(600)})
        after = deployment_cost(profile=GpuProfile.objects.get(), on=date(2026, 11, 28)).power.ntd

    assert after - before == Decimal(576)


def test_the_price_in_effect_is_the_latest_one_not_after_the_day(acme_costing, in_tenant):
    with in_tenant(acme_costing):
        save_price(
            tenant_id=acme_costing.pk,
            fields={
                "provider": "openai",
                "model": "gpt-4o",
                "input_per_million": Decimal("2.00"),
                "output_per_million": Decimal("8.00"),
                "currency": "USD",
                "effective_from": date(2026, 1, 1),
            },
        )
        assert price_in_effect(model="gpt-4o", on=date(2025, 12, 31)).input_per_million == Decimal("2.50")
        assert price_in_effect(model="gpt-4o", on=date(2026, 1, 1)).input_per_million == Decimal("2.00")
        assert price_in_effect(model="gpt-4o", on=date(2024, 1, 1)) is None
        in_effect = {(row.model, row.input_per_million) for row in price_book(on=date(2026, 6, 1))}
        assert ("gpt-4o", Decimal("2.00")) in in_effect
        assert ("gpt-4o", Decimal("2.50")) not in in_effect


def test_two_prices_for_the_same_model_and_day_are_refused(acme_costing, in_tenant):
    fields = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_per_million": Decimal("0.15"),
        "output_per_million": Decimal("0.60"),
        "currency": "USD",
        "effective_from": date(2024, 7, 18),
    }
    with in_tenant(acme_costing), pytest.raises(ValidationError):
        save_price(tenant_id=acme_costing.pk, fields=fields)


def test_a_negative_price_is_refused(acme_costing, in_tenant):
    fields = {
        "provider": "x",
        "model": "y",
        "input_per_million": Decimal("-1"),
        "output_per_million": Decimal(1),
        "currency": "USD",
        "effective_from": date(2025, 1, 1),
    }
    with in_tenant(acme_costing), pytest.raises(ValidationError):
        save_price(tenant_id=acme_costing.pk, fields=fields)


def test_the_exchange_rate_is_dated_and_the_earliest_one_covers_days_before_it(acme_costing, in_tenant):
    with in_tenant(acme_costing):
        save_exchange_rate(tenant_id=acme_costing.pk, ntd_per_usd=Decimal("30.5"), effective_on=date(2027, 1, 1))
        assert exchange_rate_on(on=date(2020, 1, 1)).ntd_per_usd == Decimal(32)
        assert exchange_rate_on(on=date(2026, 12, 31)).ntd_per_usd == Decimal(32)
        assert exchange_rate_on(on=date(2027, 1, 2)).ntd_per_usd == Decimal("30.5")
        with pytest.raises(ValidationError):
            save_exchange_rate(tenant_id=acme_costing.pk, ntd_per_usd=Decimal(0), effective_on=date(2027, 2, 1))


def test_each_tenant_edits_only_its_own_price_book(acme_costing, globex_costing):
    with tenant_context(acme_costing.pk):
        Price.objects.filter(model="gpt-4o-mini").delete()
    with tenant_context(globex_costing.pk):
        assert price_in_effect(model="gpt-4o-mini", on=date(2026, 1, 1)) is not None
    with tenant_context(acme_costing.pk):
        assert price_in_effect(model="gpt-4o-mini", on=date(2026, 1, 1)) is None
