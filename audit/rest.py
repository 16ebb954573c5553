"""The REST API for auditors: the same filtered, keyset-paged search as the audit pages."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditEvent
from audit.search import ROUTES, AuditFilter, search_events
from chatbot.rest import MemberAPIView
from tenancy.models import Role

PAGE_SIZE = 50
FILTERS = ("date_from", "date_to", "department", "user", "kind", "route", "entity", "backend", "cost_min", "cost_max")


class AuditEventOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        # The encrypted raw question never leaves through the API; decrypting it is a page with a reason.
        fields = [
            "seq",
            "occurred_at",
            "kind",
            "correlation_id",
            "actor_username",
            "department_code",
            "channel",
            "payload",
            "prev_hash",
            "hash",
        ]


class AuditSearchPage(serializers.Serializer):
    results = AuditEventOutput(many=True)
    next_before_seq = serializers.IntegerField(allow_null=True, help_text="pass as `before` for the next page")


class AuditEventListView(MemberAPIView):
    roles = (Role.AUDITOR,)

    @extend_schema(
        parameters=[
            OpenApiParameter("date_from", str, description="YYYY-MM-DD"),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD, inclusive"),
            OpenApiParameter("department", str),
            OpenApiParameter("user", str),
            OpenApiParameter("kind", str),
            OpenApiParameter("route", enum=ROUTES),
            OpenApiParameter("entity", str, description="an entity type, e.g. TW_NATIONAL_ID"),
            OpenApiParameter("backend", str),
            OpenApiParameter("cost_min", str),
            OpenApiParameter("cost_max", str),
            OpenApiParameter("q", str, description="text in the redacted question"),
            OpenApiParameter("before", int, description="sequence number to continue before"),
        ],
        responses=AuditSearchPage,
        summary="Search the tenant's audit events, newest first",
    )
    def get(self, request: Request) -> Response:
        query = {name: value for name, value in request.query_params.items()}
        criteria = AuditFilter.from_query(query)
        errors = {}
        for name in ("date_from", "date_to"):
            if query.get(name, "").strip() and getattr(criteria, name) is None:
                errors[name] = ["Write the date as YYYY-MM-DD."]
        for name in ("cost_min", "cost_max"):
            if query.get(name, "").strip() and getattr(criteria, name) is None:
                errors[name] = ["Write the cost as a decimal number."]
        if criteria.route and criteria.route not in ROUTES:
            errors["route"] = [f"Use one of {', '.join(ROUTES)}."]
        before = query.get("before", "").strip()
        if before and not before.isdecimal():
            errors["before"] = ["Use the next_before_seq of the previous page."]
        if errors:
            raise serializers.ValidationError(errors)
        page = search_events(
            tenant_id=self.membership.tenant_id,
            criteria=criteria,
            before_seq=int(before) if before else None,
            page_size=PAGE_SIZE,
        )
        return Response(
            {"results": AuditEventOutput(page.events, many=True).data, "next_before_seq": page.next_before_seq}
        )
