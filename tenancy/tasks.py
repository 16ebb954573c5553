"""The base for every tenant task: the tenant is restored in the worker exactly as in a web request."""

from __future__ import annotations

from celery import Task

from tenancy.context import tenant_context


class TenantTask(Task):
    """A task whose first argument is the tenant id; its body runs inside that tenant's transaction."""

    abstract = True

    def __call__(self, tenant_id: int, *args, **kwargs):
        with tenant_context(int(tenant_id)):
            return super().__call__(tenant_id, *args, **kwargs)
