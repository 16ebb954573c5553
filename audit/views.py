"""The auditor's pages: search, event detail, raw question, export, summary and chain verification."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.checkpoints import checkpoint_export_lines, signing_public_key_pem
from audit.export import EXPORT_FORMATS, csv_lines, json_lines, record_export
from audit.models import AuditEvent, EventKind, SignedCheckpoint
from audit.raw_questions import RawQuestionDenied, read_raw_question
from audit.search import ROUTES, AuditFilter, search_events
from audit.summary import question_summary
from audit.verification import latest_verification
from tenancy.access import role_required
from tenancy.models import Department, Role

PAGE_SIZE = 50
MAX_SUMMARY_DAYS = 3660


def get_event_for_auditor(request: HttpRequest, seq: int) -> AuditEvent:
    """The event with this seq in the auditor's tenant, or 404."""
    event = AuditEvent.objects.filter(tenant_id=request.membership.tenant_id, seq=seq).first()
    if event is None:
        raise Http404
    return event


@role_required(Role.AUDITOR)
def event_list(request: HttpRequest) -> HttpResponse:
    """Search and filter the tenant's events, newest first, keyset-paged."""
    criteria = AuditFilter.from_query(request.GET)
    before = request.GET.get("before", "")
    page = search_events(
        tenant_id=request.membership.tenant_id,
        criteria=criteria,
        before_seq=int(before) if before.isdecimal() else None,
        page_size=PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "audit/events.html",
        {
            "page": page,
            "criteria": criteria,
            "query": query.urlencode(),
            "routes": ROUTES,
            "kinds": EventKind.choices,
            "departments": Department.objects.order_by("code").values_list("code", flat=True),
            "verification": latest_verification(tenant_id=request.membership.tenant_id),
        },
    )


@role_required(Role.AUDITOR)
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    """Everything recorded about one event, with links to the FAQ versions used."""
    event = get_event_for_auditor(request, seq)
    payload = event.payload if isinstance(event.payload, dict) else {}
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "payload": payload,
            "sources": payload.get("sources") or [],
            "entities": payload.get("entities") or [],
            "other_fields": sorted(
                (key, value)
                for key, value in payload.items()
                if key not in {"sources", "entities", "question_redacted", "answer"}
            ),
            "may_read_raw": request.membership.role == Role.AUDITOR and bool(event.raw_question_encrypted),
        },
    )


@require_POST
@role_required(Role.AUDITOR)
def raw_question(request: HttpRequest, seq: int) -> HttpResponse:
    """Decrypt the raw question for an auditor who gives a reason; the reading is itself recorded."""
    event = get_event_for_auditor(request, seq)
    try:
        text = read_raw_question(event=event, reader=request.membership, reason=request.POST.get("reason", ""))
    except RawQuestionDenied as denial:
        if request.membership.role != Role.AUDITOR:
            return HttpResponse(str(denial), status=403)
        messages.error(request, _("Give a reason for reading the raw question."))
        return redirect("audit:event_detail", seq=seq)
    return render(request, "audit/raw_question.html", {"event": event, "raw_question": text})


@role_required(Role.AUDITOR)
def export(request: HttpRequest, export_format: str) -> StreamingHttpResponse:
    """Stream the filtered events as CSV or JSON Lines with their chain fields; the export is recorded."""
    if export_format not in EXPORT_FORMATS:
        raise Http404
    criteria = AuditFilter.from_query(request.GET)
    record_export(exporter=request.membership, criteria=criteria, export_format=export_format)
    tenant_id = request.membership.tenant_id
    lines = (csv_lines if export_format == "csv" else json_lines)(tenant_id=tenant_id, criteria=criteria)
    response = StreamingHttpResponse(
        lines, content_type="text/csv; charset=utf-8" if export_format == "csv" else "application/x-ndjson"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    filename = f"audit-{request.membership.tenant.slug}-{stamp}.{export_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(Role.AUDITOR)
def checkpoints_export(request: HttpRequest) -> HttpResponse:
    """The tenant's signed checkpoints as JSON Lines."""
    response = HttpResponse(
        "".join(checkpoint_export_lines(tenant=request.membership.tenant)), content_type="application/x-ndjson"
    )
    response["Content-Disposition"] = f'attachment; filename="checkpoints-{request.membership.tenant.slug}.jsonl"'
    return response


@role_required(Role.AUDITOR)
def public_key(request: HttpRequest) -> HttpResponse:
    """The public key the checkpoints are signed with, as PEM."""
    return HttpResponse(signing_public_key_pem(), content_type="application/x-pem-file")


@role_required(Role.AUDITOR)
def summary(request: HttpRequest) -> HttpResponse:
    """Questions per day by route, share of sensitive questions, fallbacks and refusals."""
    days = request.GET.get("days", "")
    days = int(days) if days.isdecimal() and 1 <= int(days) <= MAX_SUMMARY_DAYS else 30
    return render(
        request, "audit/summary.html", {"summary": question_summary(tenant_id=request.membership.tenant_id, days=days)}
    )


@role_required(Role.AUDITOR)
def verification(request: HttpRequest) -> HttpResponse:
    """The last verification of the tenant's chain and its checkpoints."""
    tenant_id = request.membership.tenant_id
    return render(
        request,
        "audit/verification.html",
        {
            "verification": latest_verification(tenant_id=tenant_id),
            "checkpoints": SignedCheckpoint.objects.order_by("-seq", "-created_at")[:20],
        },
    )
