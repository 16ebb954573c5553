"""Failed logins recorded on the chain of the tenant the username belongs to."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from audit.log import record
from audit.models import EventKind
from tenancy.context import tenant_context
from tenancy.middleware import tenant_id_for_user


def record_login_failure(sender, credentials: dict, request=None, **kwargs) -> None:
    """Audit a failed login when the username belongs to a tenant; unknown usernames have no chain."""
    username = str(credentials.get("username", ""))[:150]
    user_id = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()
    tenant_id = tenant_id_for_user(user_id) if user_id is not None else None
    if tenant_id is None:
        return
    with transaction.atomic(), tenant_context(tenant_id):
        record(
            tenant_id=tenant_id,
            kind=EventKind.LOGIN_FAILED,
            payload={"remote_addr": request.META.get("REMOTE_ADDR", "") if request is not None else ""},
            actor_user_id=user_id,
            actor_username=username,
            channel="web" if request is not None else "",
        )
