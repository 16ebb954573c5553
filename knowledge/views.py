"""The knowledge base pages: FAQ entries and documents for every member, curating for curators."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from config.errors import form_status
from knowledge import gaps, imports, uploads
from knowledge.curation import (
    EditConflict,
    faq_categories,
    filter_faq_entries,
    revision_history,
    status_counts,
    with_alternatives,
    write_faq_entry,
)
from knowledge.faqs import restore_revision, set_status
from knowledge.forms import (
    BulkStatusForm,
    DocumentFileForm,
    DocumentForm,
    FaqEntryForm,
    FaqFileForm,
    FaqFilterForm,
    QuestionIdsForm,
    StatusForm,
    ids_in,
)
from knowledge.models import Document, FaqEntry, FaqRevision, ImportJob, Status
from knowledge.spreadsheets import write_faq_rows
from tenancy.access import member_required, role_required

curator_required = role_required("curator")

FAQ_PAGE_SIZE = 50
_SPREADSHEET_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def is_curator(request: HttpRequest) -> bool:
    """Whether the member may curate the knowledge base (curators and tenant admins)."""
    return request.membership is not None and request.membership.has_role("curator")


def get_faq_entry_for_member(request: HttpRequest, entry_id: int) -> FaqEntry:
    """An entry of the member's tenant: any for curators, published ones for everyone else; else 404."""
    entries = FaqEntry.objects.select_related("owner_department")
    if not is_curator(request):
        entries = entries.filter(status=Status.PUBLISHED)
    entry = entries.filter(pk=entry_id).first()
    if entry is None:
        raise Http404("No such FAQ entry.")
    return entry


def get_document_for_member(request: HttpRequest, document_id: int) -> Document:
    """A document of the member's tenant: any for curators, published ready ones for everyone else; else 404."""
    documents = Document.objects.select_related("owner_department").defer("content")
    if not is_curator(request):
        documents = documents.filter(status=Status.PUBLISHED, state=Document.State.READY)
    document = documents.filter(pk=document_id).first()
    if document is None:
        raise Http404("No such document.")
    return document


def get_import_job(job_id: int) -> ImportJob:
    """An FAQ import of the current tenant, or 404."""
    job = ImportJob.objects.filter(pk=job_id, kind=ImportJob.Kind.FAQ_IMPORT).defer("content").first()
    if job is None:
        raise Http404("No such import.")
    return job


def status_message(status: str, count: int) -> str:
    """What changed for employees when entries were published, archived or returned to draft."""
    if status == Status.PUBLISHED:
        text = ngettext(
            "%(count)d entry published: employees get it as an answer now.",
            "%(count)d entries published: employees get them as answers now.",
            count,
        )
    elif status == Status.ARCHIVED:
        text = ngettext(
            "%(count)d entry archived: it is no longer used for answers.",
            "%(count)d entries archived: they are no longer used for answers.",
            count,
        )
    else:
        text = ngettext(
            "%(count)d entry returned to draft: it is not used for answers until published.",
            "%(count)d entries returned to draft: they are not used for answers until published.",
            count,
        )
    return text % {"count": count}


def redirect_back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Back to the page the form was on (its filters kept), if that is a page of this site."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect(fallback)


def _spreadsheet_response(content: bytes, *, format: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=_SPREADSHEET_TYPES[format])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# FAQ entries


@curator_required
def home(request: HttpRequest) -> HttpResponse:
    """The knowledge base starts at the FAQ list."""
    return redirect("knowledge:faq_list")


@curator_required
def faq_list(request: HttpRequest) -> HttpResponse:
    """The curator's FAQ list: search, filters, counts by status and bulk actions."""
    filter_form = FaqFilterForm(request.GET or None, categories=faq_categories())
    entries = with_alternatives(filter_faq_entries(filters=filter_form.filters()))
    page = Paginator(entries, FAQ_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "knowledge/faq_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "counts": status_counts(),
            "query": query.urlencode(),
            "filtered": any(value for key, value in request.GET.items() if key != "page"),
        },
    )


@curator_required
@require_POST
def faq_bulk(request: HttpRequest) -> HttpResponse:
    """Publish, archive or return to draft the selected entries."""
    form = BulkStatusForm(request.POST)
    if not form.is_valid():
        for error in form.non_field_errors() or [_("Choose what to do with the selected entries.")]:
            messages.error(request, error)
    else:
        changed = set_status(entry_ids=form.cleaned_data["entry_ids"], status=form.status, edited_by_id=request.user.pk)
        if changed:
            messages.success(request, status_message(form.status, changed))
        else:
            messages.info(request, _("Nothing changed: the selected entries already had that status."))
    return redirect_back(request, reverse("knowledge:faq_list"))


@curator_required
def faq_create(request: HttpRequest) -> HttpResponse:
    """Write a new FAQ entry, or draft one from a group of unanswered questions."""
    group = None
    if request.method == "POST":
        form = FaqEntryForm(request.POST)
        if form.is_valid():
            entry, _created = _write_from_form(request, form)
            messages.success(request, _("FAQ entry saved as version %(version)d.") % {"version": entry.version})
            return redirect("knowledge:faq_detail", entry.pk)
    else:
        initial = {"language": request.LANGUAGE_CODE if request.LANGUAGE_CODE in ("en", "zh-hant") else "zh-hant"}
        if request.GET.get("unanswered"):
            ids = ids_in(request.GET["unanswered"])
            group = gaps.group_of(question_ids=ids)
        if group is not None:
            initial.update(
                question=group.question,
                alternatives="\n".join(group.other_wordings),
                language=group.language,
                unanswered=",".join(str(pk) for pk in group.question_ids),
            )
        initial["owner_department"] = request.membership.department_id
        form = FaqEntryForm(initial=initial)
    return render(
        request,
        "knowledge/faq_form.html",
        {"form": form, "entry": None, "group": group, "categories": faq_categories()},
        status=form_status(form),
    )


@curator_required
def faq_edit(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Edit an entry; the form refuses to overwrite a colleague's newer version."""
    entry = get_faq_entry_for_member(request, entry_id)
    if request.method == "POST":
        form = FaqEntryForm(request.POST, entry=entry)
        if form.is_valid():
            try:
                saved, _changed = _write_from_form(request, form, entry=entry)
            except EditConflict:
                messages.error(
                    request,
                    _(
                        "Someone saved this entry while you were editing it. Your changes were not saved: "
                        "open the entry again to see the latest version, then make your changes."
                    ),
                )
                return redirect("knowledge:faq_history", entry.pk)
            if saved.version == entry.version:
                messages.info(request, _("No changes to save."))
            else:
                messages.success(request, _("Saved as version %(version)d.") % {"version": saved.version})
            return redirect("knowledge:faq_detail", entry.pk)
    else:
        form = FaqEntryForm(
            entry=entry,
            initial={
                "question": entry.question,
                "answer": entry.answer,
                "alternatives": "\n".join(entry.alternatives),
                "category": entry.category,
                "tags": ", ".join(entry.tags),
                "language": entry.language,
                "status": entry.status,
                "owner_department": entry.owner_department_id,
                "version": entry.version,
            },
        )
    return render(
        request,
        "knowledge/faq_form.html",
        {"form": form, "entry": entry, "categories": faq_categories()},
        status=form_status(form),
    )


def _write_from_form(request: HttpRequest, form: FaqEntryForm, entry: FaqEntry | None = None) -> tuple[FaqEntry, bool]:
    values = form.cleaned_data
    department = values["owner_department"]
    return write_faq_entry(
        tenant_id=request.membership.tenant_id,
        question=values["question"],
        answer=values["answer"],
        external_id=values.get("external_id", ""),
        category=values["category"],
        language=values["language"],
        tags=values["tags"],
        status=values["status"],
        owner_department_id=department.pk if department else None,
        alternatives=values["alternatives"],
        entry_id=entry.pk if entry else None,
        expected_version=values.get("version") if entry else None,
        edited_by_id=request.user.pk,
        unanswered_question_ids=values["unanswered"],
    )


@member_required
def faq_detail(request: HttpRequest, entry_id: int) -> HttpResponse:
    """An FAQ entry as employees read it, with the curator's tools for curators."""
    entry = get_faq_entry_for_member(request, entry_id)
    return render(request, "knowledge/faq_detail.html", {"entry": entry, "is_curator": is_curator(request)})


@curator_required
@require_POST
def faq_status(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Publish, archive or return one entry to draft."""
    entry = get_faq_entry_for_member(request, entry_id)
    form = StatusForm(request.POST)
    if form.is_valid() and set_status(
        entry_ids=[entry.pk], status=form.cleaned_data["status"], edited_by_id=request.user.pk
    ):
        messages.success(request, status_message(form.cleaned_data["status"], 1))
    return redirect("knowledge:faq_detail", entry.pk)


@curator_required
def faq_history(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Every version of an entry with what changed, each restorable."""
    entry = get_faq_entry_for_member(request, entry_id)
    return render(request, "knowledge/faq_history.html", {"entry": entry, "history": revision_history(entry=entry)})


@curator_required
@require_POST
def faq_restore(request: HttpRequest, entry_id: int, version: int) -> HttpResponse:
    """Make an earlier version the entry's newest version."""
    entry = get_faq_entry_for_member(request, entry_id)
    revision = FaqRevision.objects.filter(faq_entry=entry, version=version).first()
    if revision is None:
        raise Http404("No such version.")
    restored = restore_revision(revision=revision, edited_by_id=request.user.pk)
    if restored.version == entry.version:
        messages.info(request, _("The entry already reads as version %(version)d.") % {"version": version})
    else:
        messages.success(
            request,
            _("Version %(version)d restored; it is now version %(current)d.")
            % {"version": version, "current": restored.version},
        )
    return redirect("knowledge:faq_history", entry.pk)


@curator_required
def faq_export(request: HttpRequest, format: str) -> HttpResponse:
    """The listed entries as a CSV or Excel file."""
    filter_form = FaqFilterForm(request.GET or None, categories=faq_categories())
    entries = filter_faq_entries(filters=filter_form.filters())
    content = imports.export_faq_entries(entries=entries, format=format)
    stamp = timezone.localdate().isoformat()
    return _spreadsheet_response(
        content, format=format, filename=f"lantern-faq-{request.membership.tenant.slug}-{stamp}.{format}"
    )


# Imports


@curator_required
def import_list(request: HttpRequest) -> HttpResponse:
    """Upload a spreadsheet to check or import, and see recent imports."""
    if request.method == "POST":
        form = FaqFileForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            job = imports.create_import_job(
                tenant_id=request.membership.tenant_id,
                filename=upload.name,
                content=upload.read(),
                dry_run="import_now" not in request.POST,
                created_by_id=request.user.pk,
                owner_department_id=request.membership.department_id,
            )
            return redirect("knowledge:import_detail", job.pk)
    else:
        form = FaqFileForm()
    jobs = ImportJob.objects.filter(kind=ImportJob.Kind.FAQ_IMPORT).select_related("created_by").defer("content")
    return render(request, "knowledge/import_list.html", {"form": form, "jobs": jobs[:30]}, status=form_status(form))


@curator_required
def import_template(request: HttpRequest, format: str) -> HttpResponse:
    """An empty spreadsheet with the column names."""
    return _spreadsheet_response(write_faq_rows([], format=format), format=format, filename=f"lantern-faq.{format}")


@curator_required
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A check's or an import's results row by row, with its progress while it runs."""
    job = get_import_job(job_id)
    report = imports.report_for_job(job)
    results = sorted(report.results, key=lambda result: (result.outcome != imports.REJECTED, result.row_number))
    return render(
        request,
        "knowledge/import_detail.html",
        {
            "job": job,
            "report": report,
            "counts": report.counts,
            "shown_results": [result for result in results if result.outcome != imports.UNCHANGED],
            "unchanged_results": [result for result in results if result.outcome == imports.UNCHANGED],
            "finished": job.state in (ImportJob.State.DONE, ImportJob.State.FAILED),
        },
    )


@curator_required
def import_progress(request: HttpRequest, job_id: int) -> JsonResponse:
    """An import's progress as JSON, for the page that watches it."""
    job = get_import_job(job_id)
    counts = imports.report_for_job(job).counts
    return JsonResponse(
        {
            "state": job.state,
            "done": job.done,
            "total": job.total,
            "finished": job.state in (ImportJob.State.DONE, ImportJob.State.FAILED),
            "error": job.error,
            **counts,
        }
    )


@curator_required
@require_POST
def import_run(request: HttpRequest, job_id: int) -> HttpResponse:
    """Import a file a check has gone through."""
    dry_run_job = ImportJob.objects.filter(pk=job_id, kind=ImportJob.Kind.FAQ_IMPORT, dry_run=True).first()
    if dry_run_job is None:
        raise Http404("No such checked file.")
    job = imports.import_checked_file(dry_run_job=dry_run_job, created_by_id=request.user.pk)
    return redirect("knowledge:import_detail", job.pk)


# Documents


@curator_required
def document_list(request: HttpRequest) -> HttpResponse:
    """Upload documents and see them being processed."""
    if request.method == "POST":
        form = DocumentForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            department = form.cleaned_data["owner_department"]
            document, created = uploads.upload_document(
                tenant_id=request.membership.tenant_id,
                filename=upload.name,
                content=upload.read(),
                title=form.cleaned_data["title"],
                owner_department_id=department.pk if department else request.membership.department_id,
                uploaded_by_id=request.user.pk,
            )
            if created:
                messages.success(request, _("%(name)s was uploaded.") % {"name": upload.name})
            else:
                messages.info(
                    request, _("This file is already in the library as “%(title)s”.") % {"title": document.title}
                )
            return redirect("knowledge:document_detail", document.pk)
    else:
        form = DocumentForm(initial={"owner_department": request.membership.department_id})
    documents = Document.objects.select_related("owner_department").defer("content", "sections")
    return render(
        request,
        "knowledge/document_list.html",
        {
            "form": form,
            "documents": documents,
            "processing": any(document.state == Document.State.PROCESSING for document in documents),
        },
        status=form_status(form),
    )


@member_required
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    """A document as employees read it, section by section, with the curator's tools."""
    return _document_page(request, get_document_for_member(request, document_id), replace_form=DocumentFileForm())


def _document_page(request: HttpRequest, document: Document, *, replace_form: DocumentFileForm) -> HttpResponse:
    return render(
        request,
        "knowledge/document_detail.html",
        {
            "document": document,
            "sections": _sections_to_read(document),
            "is_curator": is_curator(request),
            "chunk_count": document.chunks.count(),
            "replace_form": replace_form,
        },
        status=form_status(replace_form),
    )


def _sections_to_read(document: Document) -> list[dict]:
    """The sections with text, each with its heading, the headings above it (less the title) and its anchor."""
    sections = []
    for section in document.sections:
        if not section["text"].strip():
            continue
        path = list(section["heading_path"])
        if path and path[0] == document.title:
            path = path[1:]
        sections.append(
            {
                "anchor": section["anchor"],
                "heading": path[-1] if path else "",
                "trail": path[:-1],
                "text": section["text"],
                "page": section["page"],
            }
        )
    return sections


@member_required
def document_file(request: HttpRequest, document_id: int) -> HttpResponse:
    """The uploaded file itself."""
    document = get_document_for_member(request, document_id)
    content = Document.objects.values_list("content", flat=True).get(pk=document.pk)
    suffix = "." + document.filename.rsplit(".", 1)[-1].lower() if "." in document.filename else ""
    response = HttpResponse(bytes(content), content_type=_DOCUMENT_TYPES.get(suffix, "application/octet-stream"))
    response["Content-Disposition"] = content_disposition_header(True, document.filename)
    return response


@curator_required
@require_POST
def document_status(request: HttpRequest, document_id: int) -> HttpResponse:
    """Publish, archive or return a document to draft."""
    document = get_document_for_member(request, document_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        uploads.set_document_status(document=document, status=form.cleaned_data["status"])
        messages.success(request, _("The document is now %(status)s.") % {"status": document.get_status_display()})
    return redirect("knowledge:document_detail", document.pk)


@curator_required
@require_POST
def document_replace(request: HttpRequest, document_id: int) -> HttpResponse:
    """Upload a new version of a document's file."""
    document = get_document_for_member(request, document_id)
    form = DocumentFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _document_page(request, document, replace_form=form)
    upload = form.cleaned_data["file"]
    uploads.replace_document_file(
        document=document, filename=upload.name, content=upload.read(), uploaded_by_id=request.user.pk
    )
    messages.success(request, _("The new version was uploaded."))
    return redirect("knowledge:document_detail", document.pk)


@curator_required
@require_POST
def document_reprocess(request: HttpRequest, document_id: int) -> HttpResponse:
    """Process a failed document again."""
    document = get_document_for_member(request, document_id)
    uploads.reprocess_document(document=document)
    return redirect("knowledge:document_detail", document.pk)


@curator_required
@require_POST
def document_delete(request: HttpRequest, document_id: int) -> HttpResponse:
    """Delete a document and its chunks."""
    document = get_document_for_member(request, document_id)
    uploads.delete_document(document=document)
    messages.success(request, _("“%(title)s” was deleted.") % {"title": document.title})
    return redirect("knowledge:document_list")


# Unanswered questions

UNANSWERED_PERIODS = (7, 30, 90)


@curator_required
def unanswered_list(request: HttpRequest) -> HttpResponse:
    """Recent unanswered questions grouped by meaning, the most asked first."""
    days = request.GET.get("days", "")
    days = int(days) if days in {str(period) for period in UNANSWERED_PERIODS} else 30
    return render(
        request,
        "knowledge/unanswered_list.html",
        {"groups": gaps.unanswered_groups(days=days), "days": days, "periods": UNANSWERED_PERIODS},
    )


@curator_required
@require_POST
def unanswered_dismiss(request: HttpRequest) -> HttpResponse:
    """Take a group of questions off the list."""
    form = QuestionIdsForm(request.POST)
    if form.is_valid():
        dismissed = gaps.dismiss_unanswered(question_ids=form.cleaned_data["questions"])
        messages.success(
            request,
            ngettext("%(count)d question dismissed.", "%(count)d questions dismissed.", dismissed)
            % {"count": dismissed},
        )
    return redirect_back(request, reverse("knowledge:unanswered_list"))
