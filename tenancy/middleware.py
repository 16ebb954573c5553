"""Resolve who is asking and for which tenant, and run the request with that tenant set in PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenancy.context import tenant_context, user_lookup_context
from tenancy.models import Membership


def tenant_id_for_user(user_id: int) -> int | None:
    """The tenant a user belongs to, read under the user's own row-level security grant."""
    with user_lookup_context(user_id):
        return Membership.unscoped.filter(user_id=user_id).values_list("tenant_id", flat=True).first()


class TenantMiddleware:
    """Sets request.membership and runs the view inside the member's tenant transaction."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        tenant_id = tenant_id_for_user(user.pk)
        if tenant_id is None:
            return self.get_response(request)
        with tenant_context(tenant_id):
            request.membership = Membership.objects.select_related("tenant", "department", "user").get(user_id=user.pk)
            return self.get_response(request)
