"""GPU profiles and the tenant's costing settings: what self-hosting costs and which deployment is in use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from costing import model as cost_model
from costing.models import CostingSettings, GpuProfile
from costing.pricebook import exchange_rate_on

GPU_PROFILE_FIELDS = (
    "name",
    "acquisition",
    "gpus",
    "hardware_cost",
    "amortization_months",
    "hourly_rate",
    "hours_per_day",
    "days_per_month",
    "power_watts",
    "electricity_price_per_kwh",
    "electricity_currency",
    "staff_fte",
    "staff_monthly_cost_per_fte",
    "other_monthly_cost",
    "currency",
    "throughput_tokens_per_second",
    "allocation_basis",
    "notes",
)
SETTINGS_FIELDS = (
    "deployed_profile",
    "app_server_monthly_cost",
    "app_server_currency",
    "alert_emails",
    "alert_webhook_url",
)


@transaction.atomic
def save_gpu_profile(*, tenant_id: int, fields: Mapping[str, Any], profile_id: int | None = None) -> GpuProfile:
    """Create a GPU profile, or change one (months already allocated keep the cost they were given)."""
    profile = GpuProfile(tenant_id=tenant_id) if profile_id is None else GpuProfile.objects.get(pk=profile_id)
    for name in GPU_PROFILE_FIELDS:
        if name in fields:
            setattr(profile, name, fields[name])
    profile.full_clean(exclude=["tenant"])
    if GpuProfile.objects.filter(name=profile.name).exclude(pk=profile.pk).exists():
        raise ValidationError(_("A GPU profile is already called %(name)s.") % {"name": profile.name})
    try:
        profile.as_gpu_profile(exchange_rate=cost_model.ExchangeRate(ntd_per_usd=1, on=date.min))
    except ValueError as error:
        raise ValidationError(str(error)) from error
    profile.save()
    return profile


def costing_settings(*, tenant_id: int) -> CostingSettings:
    """The tenant's costing settings, created empty the first time they are asked for."""
    row, _created = CostingSettings.objects.select_related("deployed_profile").get_or_create(tenant_id=tenant_id)
    return row


@transaction.atomic
def save_costing_settings(*, tenant_id: int, fields: Mapping[str, Any]) -> CostingSettings:
    """Choose the deployment in use, the app servers' monthly cost and where budget alerts go."""
    row = costing_settings(tenant_id=tenant_id)
    for name in SETTINGS_FIELDS:
        if name in fields:
            setattr(row, name, fields[name])
    row.full_clean(exclude=["tenant"])
    row.save()
    return row


def deployment_cost(
    *, profile: GpuProfile, on: date, exchange_rate: cost_model.ExchangeRate | None = None
) -> cost_model.CostBreakdown:
    """A profile's monthly cost, line by line in USD and NTD, at the exchange rate in effect on a day."""
    gpu_profile = profile.as_gpu_profile(exchange_rate=exchange_rate or exchange_rate_on(on=on))
    return cost_model.monthly_cost(gpu_profile, gpus=profile.gpus)


def gpu_profiles(*, on: date) -> list[tuple[GpuProfile, cost_model.GpuProfile]]:
    """The current tenant's GPU profiles, each with its cost-model form at the rate in effect on a day."""
    rate = exchange_rate_on(on=on)
    return [(row, row.as_gpu_profile(exchange_rate=rate)) for row in GpuProfile.objects.all()]
