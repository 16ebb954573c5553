"""Costing's Celery tasks: nightly roll-ups for every tenant and budget alert delivery."""

from __future__ import annotations

from datetime import date

from config.celery import app
from costing.alerts import deliver_budget_alert as deliver_alert
from costing.rollups import roll_up
from tenancy.models import Tenant
from tenancy.tasks import TenantTask


@app.task(base=TenantTask)
def roll_up_tenant(tenant_id: int, through: str | None = None) -> dict:
    """Roll up one tenant's usage through a day (ISO date; yesterday by default) and allocate its months."""
    result = roll_up(tenant_id=tenant_id, through=date.fromisoformat(through) if through else None)
    return {
        "daily_rows": result.daily_rows,
        "monthly_rows": result.monthly_rows,
        "months_allocated": [month.isoformat() for month in result.months_allocated],
    }


@app.task
def roll_up_all_tenants() -> int:
    """The beat task: queue one roll-up per tenant; returns how many were queued."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        roll_up_tenant.delay(tenant_id)
    return len(tenant_ids)


@app.task(base=TenantTask)
def deliver_budget_alert(tenant_id: int, alert_id: int) -> dict:
    """Send one budget alert's e-mail and webhook (each at most once)."""
    delivery = deliver_alert(alert_id=alert_id)
    return {"emailed_to": list(delivery.emailed_to), "webhook_status": delivery.webhook_status}
