"""Creating tenants, departments and members: the functions behind the admin and the commands."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

import audit
from tenancy.context import tenant_context
from tenancy.middleware import tenant_id_for_user
from tenancy.models import Department, Membership, Mode, Role, Tenant


class ProvisioningError(Exception):
    """Bad input for provisioning, with a message a person can act on."""


def create_tenant(*, slug: str, name: str, mode: str = Mode.HYBRID) -> tuple[Tenant, bool]:
    """Create a tenant, or update its name and mode when the slug exists."""
    try:
        validate_slug(slug)
    except ValidationError as error:
        raise ProvisioningError(f"Invalid tenant slug {slug!r}: use letters, digits, hyphens, underscores.") from error
    if mode not in Mode.values:
        raise ProvisioningError(f"Unknown mode {mode!r}: choose one of {', '.join(Mode.values)}.")
    if not name.strip():
        raise ProvisioningError("The tenant needs a name.")
    with transaction.atomic():
        tenant, created = Tenant.objects.update_or_create(slug=slug, defaults={"name": name.strip(), "mode": mode})
        if created:
            from costing.defaults import seed_tenant

            seed_tenant(tenant_id=tenant.pk)
    return tenant, created


def get_tenant(slug: str) -> Tenant:
    """The tenant with this slug, or a ProvisioningError naming the known ones."""
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        known = ", ".join(Tenant.objects.values_list("slug", flat=True)) or "none yet"
        raise ProvisioningError(f"No tenant {slug!r} (known tenants: {known}).") from None


def ensure_department(*, tenant: Tenant, code: str, name: str = "", cost_centre: str = "") -> Department:
    """The tenant's department with this code, created when new."""
    if not code.strip():
        raise ProvisioningError("The department needs a code.")
    with tenant_context(tenant.pk):
        department, _ = Department.objects.get_or_create(
            tenant=tenant, code=code.strip(), defaults={"name": name or code, "cost_centre": cost_centre}
        )
    return department


@transaction.atomic
def add_member(
    *,
    tenant: Tenant,
    username: str,
    role: str,
    department_code: str,
    full_name: str = "",
    password: str | None = None,
    email: str = "",
) -> Membership:
    """Create or update a user's membership of a tenant (a user belongs to one tenant)."""
    if role not in Role.values:
        raise ProvisioningError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
    if not username.strip():
        raise ProvisioningError("The member needs a username.")
    user_model = get_user_model()
    user, user_created = user_model.objects.get_or_create(username=username.strip(), defaults={"email": email})
    existing_tenant_id = tenant_id_for_user(user.pk)
    if existing_tenant_id is not None and existing_tenant_id != tenant.pk:
        raise ProvisioningError(f"User {username!r} already belongs to another tenant.")
    if password:
        user.set_password(password)
    elif user_created:
        user.set_unusable_password()
    if full_name:
        user.first_name = full_name[:150]
    user.save()
    department = ensure_department(tenant=tenant, code=department_code)
    with tenant_context(tenant.pk):
        previous_role = Membership.objects.filter(user=user).values_list("role", flat=True).first()
        membership, _ = Membership.objects.update_or_create(
            user=user,
            defaults={"tenant": tenant, "department": department, "role": role, "full_name": full_name},
        )
        if previous_role != role:
            audit.record(
                tenant_id=tenant.pk,
                kind="member_role_changed",
                payload={"username": user.get_username(), "previous_role": previous_role or "", "role": role},
                department_code=department.code,
            )
    return membership
