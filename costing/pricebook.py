"""The tenant's price book and exchange rates: which price and rate were in effect on a day, and edits to them.

A price row that a usage record was charged at is never changed: a new price is a new dated row, so the
questions asked before it keep the price they were charged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from costing import model as cost_model
from costing.defaults import DEFAULT_NTD_PER_USD
from costing.models import ExchangeRate, Price, UsageRecord
from tenancy.context import current_tenant_id

PRICE_FIELDS = (
    "provider",
    "model",
    "input_per_million",
    "cached_input_per_million",
    "output_per_million",
    "currency",
    "effective_from",
    "source",
)


_PRICE_COLUMNS = (
    "id",
    "tenant_id",
    "provider",
    "model",
    "input_per_million",
    "cached_input_per_million",
    "output_per_million",
    "currency",
    "effective_from",
    "source",
)
_PRICE_IN_EFFECT_SQL = """
SELECT id, tenant_id, provider, model, input_per_million, cached_input_per_million, output_per_million, currency,
    effective_from, source
FROM costing_price
WHERE tenant_id = %(tenant)s AND model = ANY(%(names)s) AND effective_from <= %(day)s
    AND (%(provider)s = '' OR provider = %(provider)s)
ORDER BY length(model) DESC, effective_from DESC, provider
LIMIT 1
"""


class PriceInUse(Exception):
    """The price was charged to questions already; add a new dated price instead of changing it."""


_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")


def _model_name_candidates(model: str) -> list[str]:
    """The reported name, then the name without a dated snapshot suffix ("gpt-4o-2024-08-06" is "gpt-4o")."""
    names = [model]
    while _SNAPSHOT_SUFFIX.search(names[-1]):
        names.append(_SNAPSHOT_SUFFIX.sub("", names[-1]))
    return names


def price_in_effect(*, model: str, on: date, provider: str = "") -> Price | None:
    """The current tenant's price for a model on a day, or None when the price book has none.

    A dated snapshot is priced as its model ("gpt-4o-mini-2024-07-18" as "gpt-4o-mini"), never as a
    different model that happens to share a prefix; among the model's rows, the latest effective on or before
    the day.
    """
    if not provider and "/" in model:
        provider, _separator, model = model.partition("/")
    if not model:
        return None
    # Plain SQL: this runs for every cloud question, and the ORM's query building costs more than the query.
    with connection.cursor() as cursor:
        cursor.execute(
            _PRICE_IN_EFFECT_SQL,
            {
                "tenant": current_tenant_id(),
                "names": _model_name_candidates(model),
                "day": on,
                "provider": provider,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Price(**dict(zip(_PRICE_COLUMNS, row, strict=True)))


def price_book(*, on: date | None = None) -> list[Price]:
    """The current tenant's prices, each model's newest first; only those in effect on a day when given."""
    rows = list(Price.objects.all())
    if on is None:
        return rows
    in_effect: dict[tuple[str, str], Price] = {}
    for row in rows:
        key = (row.provider, row.model)
        if row.effective_from <= on and (key not in in_effect or row.effective_from > in_effect[key].effective_from):
            in_effect[key] = row
    return sorted(in_effect.values(), key=lambda row: (row.provider, row.model))


def price_is_used(*, price_id: int) -> bool:
    """Whether any usage record was charged at this price."""
    return UsageRecord.objects.filter(price_id=price_id).exists()


@transaction.atomic
def save_price(*, tenant_id: int, fields: Mapping[str, Any], price_id: int | None = None) -> Price:
    """Add a dated price, or correct one that no question has been charged at yet."""
    if price_id is None:
        price = Price(tenant_id=tenant_id)
    else:
        price = Price.objects.select_for_update().get(pk=price_id)
        if price_is_used(price_id=price.pk):
            raise PriceInUse(
                _("Questions were charged at %(price)s; add a price with a later date instead.") % {"price": price}
            )
    for name in PRICE_FIELDS:
        if name in fields:
            setattr(price, name, fields[name])
    try:
        price.as_price()
    except ValueError as error:
        raise ValidationError(str(error)) from error
    price.full_clean(exclude=["tenant"])
    duplicate = Price.objects.filter(
        provider=price.provider, model=price.model, effective_from=price.effective_from
    ).exclude(pk=price.pk)
    if duplicate.exists():
        raise ValidationError(
            _("%(model)s already has a price from %(day)s.")
            % {"model": f"{price.provider}/{price.model}", "day": price.effective_from.isoformat()}
        )
    price.save()
    return price


def default_exchange_rate() -> Decimal:
    """The rate used before a tenant has any: LANTERN_DEFAULT_NTD_PER_USD, else 32."""
    return Decimal(str(getattr(settings, "LANTERN_DEFAULT_NTD_PER_USD", DEFAULT_NTD_PER_USD)))


def exchange_rate_on(*, on: date) -> cost_model.ExchangeRate:
    """The current tenant's NTD per USD on a day: the latest rate not after it, else the earliest there is."""
    row = ExchangeRate.objects.filter(effective_on__lte=on).order_by("-effective_on").first()
    if row is None:
        row = ExchangeRate.objects.order_by("effective_on").first()
    if row is None:
        return cost_model.ExchangeRate(ntd_per_usd=default_exchange_rate(), on=on)
    return row.as_exchange_rate()


@transaction.atomic
def save_exchange_rate(*, tenant_id: int, ntd_per_usd: Decimal, effective_on: date) -> ExchangeRate:
    """Set the NTD per USD rate from a day on (replacing the rate of that same day, if any)."""
    try:
        cost_model.ExchangeRate(ntd_per_usd=ntd_per_usd, on=effective_on)
    except ValueError as error:
        raise ValidationError(str(error)) from error
    rate, _created = ExchangeRate.objects.update_or_create(
        tenant_id=tenant_id, effective_on=effective_on, defaults={"ntd_per_usd": ntd_per_usd}
    )
    return rate
