"""What a new tenant's costing starts with: the shipped price list, one GPU profile and an exchange rate.

Every row is ordinary tenant data afterwards: finance edits prices, adds dated ones, changes the profile and
the rate. Seeding is idempotent: rows that exist (by their natural key) are left as the tenant edited them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from costing.price_list import load_price_list

DEFAULT_NTD_PER_USD = Decimal(32)

# The architecture's reference deployment: one A100 bought for $12,000 over 36 months, 400 W around the clock
# at NT$4.0/kWh, 0.2 FTE at $5,500 a month. Throughput is the tokens per second one A100 serves across
# concurrent requests with an 8B model under vLLM, a planning figure to replace with a measured one.
DEFAULT_GPU_PROFILES: tuple[dict[str, Any], ...] = (
    {
        "name": "A100 80GB, bought",
        "acquisition": "purchase",
        "gpus": 1,
        "hardware_cost": Decimal(12_000),
        "amortization_months": 36,
        "hours_per_day": Decimal(24),
        "days_per_month": 30,
        "power_watts": Decimal(400),
        "electricity_price_per_kwh": Decimal("4.0"),
        "electricity_currency": "NTD",
        "staff_fte": Decimal("0.2"),
        "staff_monthly_cost_per_fte": Decimal(5_500),
        "other_monthly_cost": Decimal(0),
        "currency": "USD",
        "throughput_tokens_per_second": Decimal(1_000),
        "allocation_basis": "tokens",
        "notes": "Reference deployment; replace the throughput with what your server measures.",
    },
)


@dataclass(frozen=True)
class SeedResult:
    """How many rows seeding added to a tenant's costing tables."""

    prices: int
    gpu_profiles: int
    exchange_rates: int
    settings_created: bool


def write_defaults(*, tenant_id: int, models: Any, using: str = "default") -> SeedResult:
    """Add the missing default rows for a tenant, with the given models (live or a migration's historical ones)."""
    price_list = load_price_list()
    prices = 0
    for price in price_list.prices:
        _, created = models.Price.unscoped.using(using).get_or_create(
            tenant_id=tenant_id,
            provider=price.provider,
            model=price.model,
            effective_from=price.effective_from,
            defaults={
                "input_per_million": price.input_per_million,
                "cached_input_per_million": price.cached_input_per_million,
                "output_per_million": price.output_per_million,
                "currency": price.currency,
                "source": price.source,
            },
        )
        prices += created
    rates = 0
    if not models.ExchangeRate.unscoped.using(using).filter(tenant_id=tenant_id).exists():
        models.ExchangeRate.unscoped.using(using).create(
            tenant_id=tenant_id, ntd_per_usd=DEFAULT_NTD_PER_USD, effective_on=price_list.taken_on
        )
        rates = 1
    profiles = 0
    first_profile = None
    for fields in DEFAULT_GPU_PROFILES:
        profile, created = models.GpuProfile.unscoped.using(using).get_or_create(
            tenant_id=tenant_id, name=fields["name"], defaults={key: fields[key] for key in fields if key != "name"}
        )
        profiles += created
        first_profile = first_profile or profile
    _, settings_created = models.CostingSettings.unscoped.using(using).get_or_create(
        tenant_id=tenant_id, defaults={"deployed_profile": first_profile}
    )
    return SeedResult(prices=prices, gpu_profiles=profiles, exchange_rates=rates, settings_created=settings_created)


def seed_tenant(*, tenant_id: int) -> SeedResult:
    """Give a tenant the shipped price list, the reference GPU profile and an exchange rate, once."""
    from costing import models
    from tenancy.context import tenant_context

    with tenant_context(tenant_id), transaction.atomic():
        return write_defaults(tenant_id=tenant_id, models=models)
