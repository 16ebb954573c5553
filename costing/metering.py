"""Metering: one usage record per question, priced when it was asked.

Cloud answers are charged at the tenant's price in effect on the day of the question, and the record keeps
that price (a later price is a new row and never reaches back). Answers of the self-hosted model and of the
extractive answerer carry no per-question cost: their fixed monthly cost is allocated to departments at
month end, and the record says so. Metered cost counts against the department's budget in the same
transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from costing import model as cost_model
from costing.budgets import add_spend
from costing.models import MONEY_PLACES, CostKind, Price
from costing.periods import local_day
from costing.pricebook import exchange_rate_on, price_in_effect

EXTRACTIVE_COST_BASIS = "extractive: no model; carries only its share of the app servers, allocated monthly"
LOCAL_COST_BASIS = "local: no per-question price; carries its share of the GPU deployment, allocated monthly"
NO_COST_BASIS = "no model ran"
BACKEND_CLOUD = "cloud"
BACKEND_LOCAL = "local"
BACKEND_EXTRACTIVE = "extractive"
_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
_INSERT_USAGE_SQL = """
INSERT INTO costing_usagerecord
    (tenant_id, department_id, user_id, occurred_at, route, backend, provider, model, tokens_in, cached_tokens_in,
     tokens_out, tokens_estimated, latency_ms, gpu_seconds, cost, currency, cost_kind, cost_basis, price_id,
     correlation_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
RETURNING id
"""


@dataclass(frozen=True)
class MeteredQuestion:
    """What metering stored for a question."""

    usage_record_id: int
    cost: Decimal
    currency: str
    cost_kind: str
    cost_basis: str
    price_id: int | None
    latency_ms: int
    tokens_estimated: bool
    budget_alert_ids: tuple[int, ...]


def _describe_price(price: Price) -> str:
    cached = "" if price.cached_input_per_million is None else f", cached in {price.cached_input_per_million}"
    return (
        f"cloud: {price.provider}/{price.model} at {price.input_per_million} in{cached}, "
        f"{price.output_per_million} out {price.currency} per 1M tokens "
        f"(price #{price.pk}, effective {price.effective_from.isoformat()})"
    )


def _cloud_cost(
    price: Price, *, tokens_in: int, tokens_out: int, cached_tokens_in: int, occurred_at: datetime
) -> Decimal:
    cost = cost_model.cloud_cost(price.as_price(), tokens_in, tokens_out, min(cached_tokens_in, tokens_in))
    if price.currency != cost_model.USD:
        rate = exchange_rate_on(on=local_day(occurred_at))
        cost = rate.convert(cost, from_currency=price.currency, to_currency=cost_model.USD).quantize(_QUANTUM)
    return cost


def meter(
    *,
    tenant_id: int,
    department_id: int,
    user_id: int | None,
    route: str,
    backend: str,
    model: str,
    tokens_in: int,
    tokens_out: int,
    tokens_estimated: bool,
    latency_ms: float,
    correlation_id: uuid.UUID,
    occurred_at: datetime,
    provider: str = "",
    cached_tokens_in: int = 0,
    gpu_seconds: float | Decimal | None = None,
) -> MeteredQuestion:
    """Write the usage record of one question, inside the caller's tenant transaction.

    `cached_tokens_in` is the part of `tokens_in` the provider served from its prompt cache; `gpu_seconds`
    is the self-hosted model's generation time (the question's latency when not given).
    """
    day = local_day(occurred_at)
    price = None
    cost = Decimal(0)
    if backend == BACKEND_CLOUD:
        price = price_in_effect(model=model, on=day, provider=provider)
        if price is None:
            kind = CostKind.UNPRICED
            name = f"{provider}/{model}" if provider else model or "an unnamed model"
            basis = f"unpriced: no price for {name} in effect on {day.isoformat()}"
        else:
            kind, basis = CostKind.METERED, _describe_price(price)
            cost = _cloud_cost(
                price,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cached_tokens_in=cached_tokens_in,
                occurred_at=occurred_at,
            )
    elif backend == BACKEND_LOCAL:
        kind, basis = CostKind.LOCAL_SHARE, LOCAL_COST_BASIS
    elif backend == BACKEND_EXTRACTIVE:
        kind, basis = CostKind.APP_SERVER_SHARE, EXTRACTIVE_COST_BASIS
    else:
        kind, basis = CostKind.NO_COST, NO_COST_BASIS
    if gpu_seconds is None:
        gpu_seconds = latency_ms / 1000 if backend == BACKEND_LOCAL else 0
    cost_basis = basis[:300]
    # One plain INSERT: the ORM's create() costs several times the round trip on this hot path.
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_USAGE_SQL,
            [
                tenant_id,
                department_id,
                user_id,
                occurred_at,
                route,
                backend,
                price.provider if price else provider,
                model,
                tokens_in,
                min(cached_tokens_in, tokens_in),
                tokens_out,
                tokens_estimated,
                round(latency_ms),
                Decimal(str(gpu_seconds)).quantize(Decimal("0.001")),
                cost,
                cost_model.USD,
                kind,
                cost_basis,
                price.pk if price else None,
                correlation_id,
            ],
        )
        usage_record_id = cursor.fetchone()[0]
    alert_ids: tuple[int, ...] = ()
    if cost > 0:
        alert_ids = add_spend(tenant_id=tenant_id, department_id=department_id, amount_usd=cost, day=day)
    return MeteredQuestion(
        usage_record_id=usage_record_id,
        cost=cost,
        currency=cost_model.USD,
        cost_kind=kind,
        cost_basis=cost_basis,
        price_id=price.pk if price else None,
        latency_ms=round(latency_ms),
        tokens_estimated=tokens_estimated,
        budget_alert_ids=alert_ids,
    )
