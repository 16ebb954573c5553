"""Tenants, their departments and their members."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenancy.context import current_tenant_id


class Mode(models.TextChoices):
    HYBRID = "hybrid", _("Hybrid")
    LOCAL_ONLY = "local_only", _("Local only")
    CLOUD_ONLY = "cloud_only", _("Cloud only")


class Role(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    CURATOR = "curator", _("Curator")
    AUDITOR = "auditor", _("Auditor")
    FINANCE = "finance", _("Finance")
    TENANT_ADMIN = "tenant_admin", _("Tenant admin")


class Tenant(models.Model):
    """A company using Lantern. The registry of tenants is not itself tenant-owned."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.HYBRID)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | int) -> TenantQuerySet:
        return self.filter(tenant_id=tenant if isinstance(tenant, int) else tenant.pk)


class TenantScopedManager(models.Manager.from_queryset(TenantQuerySet)):
    """Rows of the current tenant only; outside any tenant, nothing (row-level security agrees)."""

    def get_queryset(self) -> TenantQuerySet:
        tenant_id = current_tenant_id()
        queryset = super().get_queryset()
        return queryset.none() if tenant_id is None else queryset.filter(tenant_id=tenant_id)


class TenantOwnedModel(models.Model):
    """Base for every table whose rows belong to one tenant; each gets a row-level security policy."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantScopedManager()
    unscoped = models.Manager.from_queryset(TenantQuerySet)()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    def save(self, *args, **kwargs) -> None:
        if self.tenant_id is None:
            self.tenant_id = current_tenant_id()
        super().save(*args, **kwargs)


class Department(TenantOwnedModel):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    cost_centre = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="department_code_unique_per_tenant")]

    def __str__(self) -> str:
        return self.code


class Membership(TenantOwnedModel):
    """A user's place in a tenant: department and role. A user belongs to one tenant."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.EMPLOYEE)
    full_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role})"

    @property
    def display_name(self) -> str:
        return self.full_name or self.user.get_full_name() or self.user.get_username()

    def has_role(self, *roles: str) -> bool:
        """Tenant admins may do everything a role in the tenant may do."""
        return self.role in roles or self.role == Role.TENANT_ADMIN
