"""Audit's Celery tasks: the periodic signed checkpoint and verification of every tenant's chain."""

from __future__ import annotations

from audit.checkpoints import checkpoint_head
from audit.models import CheckpointReason
from audit.verification import verify_tenant_chain
from config.celery import app
from tenancy.models import Tenant
from tenancy.tasks import TenantTask


@app.task(base=TenantTask)
def checkpoint_tenant(tenant_id: int) -> int | None:
    """Sign one tenant's chain head; returns the checkpointed seq, or None when nothing new was recorded."""
    checkpoint = checkpoint_head(tenant=Tenant.objects.get(pk=tenant_id), reason=CheckpointReason.SCHEDULED)
    return checkpoint.seq if checkpoint else None


@app.task
def checkpoint_all_tenants() -> int:
    """The beat task: queue one checkpoint per tenant; returns how many were queued."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        checkpoint_tenant.delay(tenant_id)
    return len(tenant_ids)


@app.task(base=TenantTask)
def verify_tenant(tenant_id: int) -> bool:
    """Verify one tenant's chain and store the result; returns whether it verified."""
    return verify_tenant_chain(tenant=Tenant.objects.get(pk=tenant_id)).ok


@app.task
def verify_all_tenants() -> int:
    """The beat task: queue one verification per tenant; returns how many were queued."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        verify_tenant.delay(tenant_id)
    return len(tenant_ids)
