"""System checks that catch a database role able to see across tenants."""

from __future__ import annotations

from django.core.checks import Error, Tags, register
from django.db import connections


@register(Tags.database)
def check_application_role_cannot_bypass_rls(app_configs=None, databases=None, **kwargs) -> list[Error]:
    """The application's database role must not be a superuser, bypass RLS, or own tenant tables."""
    if not databases or "default" not in databases:
        return []
    return role_bypass_errors(connections["default"])


def role_bypass_errors(connection) -> list[Error]:
    """Errors for a connection whose role is a superuser, bypasses RLS, or owns tenant tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        )
        superuser, bypass_rls = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = current_user AND c.relrowsecurity",
        )
        owned_protected_tables = cursor.fetchone()[0]
    errors = []
    if superuser or bypass_rls:
        errors.append(
            Error(
                "The application database role can bypass row-level security.",
                hint="Connect with DATABASE_URL as a role created NOSUPERUSER NOBYPASSRLS and migrate with "
                "DATABASE_OWNER_URL.",
                id="tenancy.E001",
            )
        )
    if owned_protected_tables:
        errors.append(
            Error(
                "The application database role owns tenant tables, so row-level security does not apply to it.",
                hint="Let the owner role (DATABASE_OWNER_URL) own the tables and connect the app as another role.",
                id="tenancy.E002",
            )
        )
    return errors
