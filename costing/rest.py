"""The REST API for finance: a month's usage and cost per department, as the finance dashboard shows it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chatbot.rest import MemberAPIView
from costing.periods import first_of_month, parse_month, today
from costing.reports import MonthReport, month_report
from tenancy.models import Role


class MoneyOutput(serializers.Serializer):
    usd = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True)
    ntd = serializers.DecimalField(max_digits=20, decimal_places=0, coerce_to_string=True)


class DepartmentUsageOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    questions = serializers.IntegerField()
    questions_by_route = serializers.DictField(child=serializers.IntegerField())
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    metered = MoneyOutput()
    local_share = MoneyOutput()
    total = MoneyOutput()
    budget_level = serializers.CharField(allow_null=True)


class MonthUsageOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    in_progress = serializers.BooleanField()
    ntd_per_usd = serializers.DecimalField(max_digits=10, decimal_places=4, coerce_to_string=True)
    questions = serializers.IntegerField()
    departments = DepartmentUsageOutput(many=True)


def _money(money) -> dict:
    return {"usd": round(money.usd, 2), "ntd": round(money.ntd)}


def month_usage(report: MonthReport) -> dict:
    """A month report as plain data for the API."""
    return {
        "month": report.month.strftime("%Y-%m"),
        "in_progress": report.in_progress,
        "ntd_per_usd": report.exchange_rate.ntd_per_usd,
        "questions": report.usage.questions,
        "departments": [
            {
                "code": line.code,
                "name": line.name,
                "questions": line.usage.questions,
                "questions_by_route": dict(line.questions_by_route),
                "tokens_in": line.usage.tokens_in,
                "tokens_out": line.usage.tokens_out,
                "metered": _money(line.metered),
                "local_share": _money(line.local_share),
                "total": _money(line.total),
                "budget_level": str(line.budget.state.level) if line.budget else None,
            }
            for line in report.departments
        ],
    }


class MonthUsageView(MemberAPIView):
    roles = (Role.FINANCE,)

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM; this month when left out")],
        responses=MonthUsageOutput,
        summary="A month's questions, tokens and cost per department",
    )
    def get(self, request: Request) -> Response:
        text = request.query_params.get("month", "").strip()
        try:
            month = parse_month(text) if text else first_of_month(today())
        except ValueError as error:
            raise serializers.ValidationError({"month": [f"{error}."]}) from None
        report = month_report(tenant_id=self.membership.tenant_id, month=month)
        return Response(MonthUsageOutput(month_usage(report)).data)
