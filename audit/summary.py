"""The auditor's summary: questions per day by route, sensitive share, fallbacks and refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import AuditEvent, EventKind


@dataclass(frozen=True)
class DayRoutes:
    """How many questions one day sent down each route."""

    day: date
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class QuestionSummary:
    """Question totals over a period."""

    days: tuple[DayRoutes, ...]
    routes: tuple[str, ...]
    questions: int
    sensitive: int
    with_fallback: int
    refused: int

    @property
    def sensitive_share(self) -> float:
        return self.sensitive / self.questions if self.questions else 0.0


def question_summary(*, tenant_id: int, days: int = 30) -> QuestionSummary:
    """Summarise the tenant's questions over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    questions = AuditEvent.unscoped.filter(tenant_id=tenant_id, kind=EventKind.QUESTION, occurred_at__gte=since)
    per_day = (
        questions.annotate(day=TruncDate("occurred_at"), route_name=KT("payload__route"))
        .values("day", "route_name")
        .annotate(count=Count("id"))
        .order_by("day")
    )
    by_day: dict[date, dict[str, int]] = {}
    for row in per_day:
        by_day.setdefault(row["day"], {})[row["route_name"] or "unknown"] = row["count"]
    totals = questions.aggregate(
        questions=Count("id"),
        sensitive=Count("id", filter=Q(payload__entities__isnull=False) & ~Q(payload__entities=[])),
        with_fallback=Count("id", filter=Q(payload__fallbacks__isnull=False) & ~Q(payload__fallbacks=[])),
        refused=Count("id", filter=Q(payload__route="refused")),
    )
    routes = tuple(sorted({route for counts in by_day.values() for route in counts}))
    return QuestionSummary(
        days=tuple(DayRoutes(day, counts, sum(counts.values())) for day, counts in sorted(by_day.items())),
        routes=routes,
        **totals,
    )
