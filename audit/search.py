"""The auditor's search: filters over a tenant's events, paged by sequence number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import DecimalField, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from audit.models import AuditEvent

ROUTES = ("local", "cloud", "extractive", "refused")


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor narrows the log to; empty fields do not filter."""

    date_from: date | None = None
    date_to: date | None = None
    department_code: str = ""
    username: str = ""
    kind: str = ""
    route: str = ""
    entity_type: str = ""
    backend: str = ""
    cost_min: Decimal | None = None
    cost_max: Decimal | None = None
    text: str = ""

    @classmethod
    def from_query(cls, query: dict[str, str]) -> AuditFilter:
        """A filter read from request parameters; malformed values are ignored."""
        return cls(
            date_from=_date(query.get("date_from", "")),
            date_to=_date(query.get("date_to", "")),
            department_code=_text(query.get("department", "")),
            username=_text(query.get("user", "")),
            kind=_text(query.get("kind", "")),
            route=_text(query.get("route", "")),
            entity_type=_text(query.get("entity", "")),
            backend=_text(query.get("backend", "")),
            cost_min=_decimal(query.get("cost_min", "")),
            cost_max=_decimal(query.get("cost_max", "")),
            text=_text(query.get("q", "")),
        )


@dataclass(frozen=True)
class SearchPage:
    """One page of events, newest first, and the sequence number to continue before."""

    events: tuple[AuditEvent, ...]
    next_before_seq: int | None


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip()) if text.strip() else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None


def _text(text: str) -> str:
    # No stored text holds a NUL character, and PostgreSQL refuses one in a query.
    return "" if "\x00" in text else text.strip()


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_events(*, tenant_id: int, criteria: AuditFilter) -> QuerySet[AuditEvent]:
    """The tenant's events matching the filter, unordered."""
    events = AuditEvent.unscoped.filter(tenant_id=tenant_id)
    if criteria.date_from:
        events = events.filter(occurred_at__gte=_start_of(criteria.date_from))
    if criteria.date_to and criteria.date_to < date.max:
        events = events.filter(occurred_at__lt=_start_of(criteria.date_to + timedelta(days=1)))
    if criteria.department_code:
        events = events.filter(department_code=criteria.department_code)
    if criteria.username:
        events = events.filter(actor_username=criteria.username)
    if criteria.kind:
        events = events.filter(kind=criteria.kind)
    if criteria.route:
        events = events.filter(payload__route=criteria.route)
    if criteria.entity_type:
        events = events.filter(payload__entities__contains=[{"type": criteria.entity_type}])
    if criteria.backend:
        events = events.filter(payload__backend=criteria.backend)
    if criteria.cost_min is not None or criteria.cost_max is not None:
        events = events.annotate(cost_value=Cast(KT("payload__cost"), DecimalField(max_digits=20, decimal_places=8)))
        if criteria.cost_min is not None:
            events = events.filter(cost_value__gte=criteria.cost_min)
        if criteria.cost_max is not None:
            events = events.filter(cost_value__lte=criteria.cost_max)
    if criteria.text:
        events = events.filter(payload__question_redacted__icontains=criteria.text)
    return events


def search_events(
    *, tenant_id: int, criteria: AuditFilter, before_seq: int | None = None, page_size: int = 50
) -> SearchPage:
    """A page of matching events, newest first; keyset-paged so page 1,000 costs what page 1 does."""
    events = filtered_events(tenant_id=tenant_id, criteria=criteria)
    if before_seq is not None:
        events = events.filter(seq__lt=before_seq)
    page = list(events.order_by("-seq").defer("raw_question_encrypted")[: page_size + 1])
    more = len(page) > page_size
    page = page[:page_size]
    return SearchPage(events=tuple(page), next_before_seq=page[-1].seq if more else None)
