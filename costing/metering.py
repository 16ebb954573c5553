"""Metering: one usage record per question, priced when it was asked."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from costing.models import UsageRecord

EXTRACTIVE_COST_BASIS = "extractive: no model; carries only its share of the app servers, allocated monthly"


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
) -> UsageRecord:
    """Write the usage record of one question."""
    cost, basis = Decimal(0), EXTRACTIVE_COST_BASIS if backend == "extractive" else "unpriced"
    return UsageRecord.objects.create(
        tenant_id=tenant_id,
        department_id=department_id,
        user_id=user_id,
        occurred_at=occurred_at,
        route=route,
        backend=backend,
        model=model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        tokens_estimated=tokens_estimated,
        latency_ms=round(latency_ms),
        cost=cost,
        cost_basis=basis,
        correlation_id=correlation_id,
    )
