"""FAQ entries in and out of CSV and Excel files: a dry run that says row by row what an import would do,
the import itself, and the export.

A row is matched to an existing entry by its external_id, or, when it has none, by its exact question. A
column the file does not have leaves that value of an existing entry as it is, so a file without a status
column never unpublishes anything. Re-importing the same file finds every row unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.celery import enqueue_after_commit
from knowledge.curation import with_alternatives
from knowledge.embeddings import embed_texts
from knowledge.faqs import NewFaqEntry, create_faq_entries, save_faq_entry
from knowledge.models import FaqEntry, ImportJob
from knowledge.spreadsheets import (
    FaqRow,
    ParsedSheet,
    RowError,
    SpreadsheetError,
    read_faq_rows,
    write_faq_rows,
)
from tenancy.context import tenant_context

logger = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
REJECTED = "rejected"
OUTCOMES = (CREATED, UPDATED, UNCHANGED, REJECTED)

# The values of an entry an import compares and writes, as the spreadsheet columns name them.
_COMPARED = ("question", "answer", "category", "language", "status", "tags", "alternatives")

# The model embeds a few large calls much faster than many small ones (it sorts a call's texts by length and
# pads less), so an import embeds the texts of this many rows at once, ahead of the batches that save them.
EMBEDDING_WINDOW_ROWS = 256


@dataclass(frozen=True)
class RowResult:
    """What an import did, or would do, with one row of the file."""

    row_number: int
    outcome: str
    question: str = ""
    external_id: str = ""
    changed_fields: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    faq_entry_id: int | None = None

    def as_json(self) -> dict:
        """The result as stored in an import job."""
        return {
            "row": self.row_number,
            "outcome": self.outcome,
            "question": self.question,
            "external_id": self.external_id,
            "changed_fields": list(self.changed_fields),
            "reasons": list(self.reasons),
            "faq_entry_id": self.faq_entry_id,
        }

    @classmethod
    def from_json(cls, stored: dict) -> RowResult:
        """A result read back from an import job."""
        return cls(
            row_number=stored["row"],
            outcome=stored["outcome"],
            question=stored.get("question", ""),
            external_id=stored.get("external_id", ""),
            changed_fields=tuple(stored.get("changed_fields", ())),
            reasons=tuple(stored.get("reasons", ())),
            faq_entry_id=stored.get("faq_entry_id"),
        )


@dataclass(frozen=True)
class ImportReport:
    """The per-row results of an import or a dry run, or the reason the file could not be read at all."""

    results: tuple[RowResult, ...] = ()
    error: str = ""
    ignored_columns: tuple[str, ...] = ()

    def count(self, outcome: str) -> int:
        """How many rows had this outcome."""
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {outcome: self.count(outcome) for outcome in OUTCOMES}

    @property
    def rejected(self) -> tuple[RowResult, ...]:
        return tuple(result for result in self.results if result.outcome == REJECTED)


@dataclass
class _ExistingEntries:
    """The tenant's FAQ entries as an import compares them, indexed by external id and by question."""

    values: dict[int, dict] = field(default_factory=dict)
    owner_department_ids: dict[int, int | None] = field(default_factory=dict)
    by_external_id: dict[str, int] = field(default_factory=dict)
    by_question: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> _ExistingEntries:
        existing = cls()
        for entry in _entries_with_alternatives(FaqEntry.objects.all()):
            existing.remember(entry)
        return existing

    def remember(self, entry: FaqEntry, alternatives: Sequence[str] | None = None) -> None:
        previous = self.values.get(entry.pk)
        if previous is not None and entry.pk in self.by_question.get(previous["question"], []):
            self.by_question[previous["question"]].remove(entry.pk)
        self.values[entry.pk] = {
            "question": entry.question,
            "answer": entry.answer,
            "category": entry.category,
            "language": entry.language,
            "status": entry.status,
            "tags": tuple(entry.tags),
            "alternatives": tuple(entry.alternatives if alternatives is None else alternatives),
        }
        self.owner_department_ids[entry.pk] = entry.owner_department_id
        if entry.external_id:
            self.by_external_id[entry.external_id] = entry.pk
        self.by_question.setdefault(entry.question, []).append(entry.pk)


@dataclass(frozen=True)
class _Plan:
    result: RowResult
    values: dict | None = None  # what to write, for a row that creates or updates an entry
    entry_id: int | None = None


def check_faq_file(*, filename: str, content: bytes) -> ImportReport:
    """What importing the file would do to the current tenant's FAQ entries, row by row; writes nothing."""
    try:
        sheet = read_faq_rows(filename, content)
    except SpreadsheetError as error:
        return ImportReport(error=error.message)
    existing = _ExistingEntries.load()
    first_row_by_question: dict[str, int] = {}
    results: list[RowResult] = []
    for item in _rows_in_file_order(sheet):
        if isinstance(item, _RejectedRow):
            results.append(item.message_row)
        else:
            plan = _plan_row(
                item, columns=sheet.columns, existing=existing, first_row_by_question=first_row_by_question
            )
            results.append(plan.result)
    return ImportReport(results=tuple(results), ignored_columns=sheet.ignored_columns)


@transaction.atomic
def create_import_job(
    *,
    tenant_id: int,
    filename: str,
    content: bytes,
    dry_run: bool,
    created_by_id: int | None = None,
    owner_department_id: int | None = None,
    run_in_background: bool = True,
) -> ImportJob:
    """Keep an uploaded FAQ file as a job: a dry run is checked at once, an import is queued for a worker."""
    job = ImportJob.objects.create(
        tenant_id=tenant_id,
        kind=ImportJob.Kind.FAQ_IMPORT,
        filename=filename,
        content=content,
        dry_run=dry_run,
        created_by_id=created_by_id,
        owner_department_id=owner_department_id,
    )
    if dry_run:
        report = check_faq_file(filename=filename, content=content)
        job.results = [result.as_json() for result in report.results]
        job.total = job.done = len(report.results)
        job.error = report.error
        job.state = ImportJob.State.FAILED if report.error else ImportJob.State.DONE
        job.finished_at = timezone.now()
        job.save()
    elif run_in_background:
        from knowledge.tasks import import_faq_file

        enqueue_after_commit(import_faq_file, tenant_id, job.pk)
    return job


def import_checked_file(*, dry_run_job: ImportJob, created_by_id: int | None = None) -> ImportJob:
    """Start the real import of a file a dry run has checked."""
    return create_import_job(
        tenant_id=dry_run_job.tenant_id,
        filename=dry_run_job.filename,
        content=bytes(dry_run_job.content),
        dry_run=False,
        created_by_id=created_by_id,
        owner_department_id=dry_run_job.owner_department_id,
    )


def run_import_job(*, tenant_id: int, job_id: int, batch_size: int = 50) -> ImportJob:
    """Import a job's file; each batch of rows commits with the job's progress, so a curator sees it move.

    A row that fails is rolled back alone and reported; the rest go on. A finished job is left as it is, and
    a job started again after a crash imports the file again, finding the rows already done unchanged.
    """
    with tenant_context(tenant_id):
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.dry_run or job.state in (ImportJob.State.DONE, ImportJob.State.FAILED):
            return job
        try:
            sheet = read_faq_rows(job.filename, bytes(job.content))
        except SpreadsheetError as error:
            return _finish_job(job, error=error.message)
        items = _rows_in_file_order(sheet)
        existing = _ExistingEntries.load()
        job.state, job.total, job.done, job.results, job.error = ImportJob.State.RUNNING, len(items), 0, [], ""
        job.save(update_fields=["state", "total", "done", "results", "error"])
    first_row_by_question: dict[str, int] = {}
    embeddings: dict[str, Sequence[float]] = {}
    committed = (0, [])
    try:
        for start in range(0, len(items), batch_size):
            with tenant_context(tenant_id):
                plans = [
                    item
                    if isinstance(item, _RejectedRow)
                    else _plan_row(
                        item, columns=sheet.columns, existing=existing, first_row_by_question=first_row_by_question
                    )
                    for item in items[start : start + batch_size]
                ]
                if not _texts_to_index(plans).keys() <= embeddings.keys():
                    ahead = _plan_ahead(
                        items[start + batch_size : start + max(batch_size, EMBEDDING_WINDOW_ROWS)],
                        columns=sheet.columns,
                        existing=existing,
                        first_row_by_question=first_row_by_question,
                    )
                    texts = list(_texts_to_index([*plans, *ahead]))
                    embeddings = dict(zip(texts, embed_texts(texts), strict=True))
                created = _create_entries_together(plans, job=job, existing=existing, embeddings=embeddings)
                for plan in plans:
                    if isinstance(plan, _RejectedRow):
                        result = plan.message_row
                    elif plan.result.row_number in created:
                        result = created[plan.result.row_number]
                    else:
                        result = _apply_plan(plan, job=job, existing=existing, embeddings=embeddings)
                    job.results.append(result.as_json())
                    job.done += 1
                job.save(update_fields=["results", "done"])
            committed = (job.done, list(job.results))
    except Exception:
        logger.exception("FAQ import job %s stopped after %s of %s rows", job_id, committed[0], job.total)
        job.done, job.results = committed
        with tenant_context(tenant_id):
            return _finish_job(
                job,
                error=(
                    f"The import stopped after {job.done} of {job.total} rows because of an internal error. "
                    "Upload the file again: the rows already imported will show as unchanged."
                ),
            )
    with tenant_context(tenant_id):
        return _finish_job(job)


def report_for_job(job: ImportJob) -> ImportReport:
    """The results an import job has stored so far."""
    return ImportReport(results=tuple(RowResult.from_json(stored) for stored in job.results or ()), error=job.error)


def export_faq_entries(*, entries: QuerySet[FaqEntry], format: Literal["csv", "xlsx"]) -> bytes:
    """The entries as a CSV or .xlsx file, alternatives included, that imports back unchanged."""
    rows = (
        FaqRow(
            question=entry.question,
            answer=entry.answer,
            external_id=entry.external_id,
            category=entry.category,
            language=entry.language,
            status=entry.status,
            alternatives=tuple(entry.alternatives),
            tags=tuple(entry.tags),
        )
        for entry in _entries_with_alternatives(entries.order_by("external_id", "id"))
    )
    return write_faq_rows(rows, format=format)


@dataclass(frozen=True)
class _RejectedRow:
    error: RowError

    @property
    def row_number(self) -> int:
        return self.error.row_number

    @property
    def message_row(self) -> RowResult:
        return RowResult(
            row_number=self.error.row_number,
            outcome=REJECTED,
            question=self.error.question,
            external_id=self.error.external_id,
            reasons=self.error.reasons,
        )


def _rows_in_file_order(sheet: ParsedSheet) -> list[FaqRow | _RejectedRow]:
    items: list[FaqRow | _RejectedRow] = [*sheet.rows, *(_RejectedRow(error) for error in sheet.errors)]
    return sorted(items, key=lambda item: item.row_number)


def _entries_with_alternatives(entries: QuerySet[FaqEntry]) -> Iterable[FaqEntry]:
    return with_alternatives(entries).iterator(chunk_size=500)


def _row_values(row: FaqRow) -> dict:
    return {
        "question": row.question,
        "answer": row.answer,
        "category": row.category,
        "language": row.language,
        "status": row.status,
        "tags": tuple(row.tags),
        "alternatives": tuple(row.alternatives),
    }


def _plan_row(
    row: FaqRow,
    *,
    columns: Sequence[str],
    existing: _ExistingEntries,
    first_row_by_question: dict[str, int],
) -> _Plan:
    """Whether the row creates, updates, leaves alone or cannot touch an entry, and with which values."""
    rejected = RowResult(
        row_number=row.row_number, outcome=REJECTED, question=row.question, external_id=row.external_id
    )
    first_row = first_row_by_question.setdefault(row.question, row.row_number)
    if row.external_id:
        entry_id = existing.by_external_id.get(row.external_id)
    else:
        if first_row != row.row_number:
            reason = (
                f"the same question is in row {first_row}: give each row its own external_id, or remove one of them"
            )
            return _Plan(result=_with_reason(rejected, reason))
        candidates = existing.by_question.get(row.question, [])
        if len(candidates) > 1:
            reason = (
                f"{len(candidates)} FAQ entries already have this question: add an external_id column "
                "to say which one this row updates"
            )
            return _Plan(result=_with_reason(rejected, reason))
        entry_id = candidates[0] if candidates else None
    values = _row_values(row)
    if entry_id is None:
        result = RowResult(
            row_number=row.row_number, outcome=CREATED, question=row.question, external_id=row.external_id
        )
        return _Plan(result=result, values=values)
    current = existing.values[entry_id]
    values = {name: values[name] if name in columns else current[name] for name in _COMPARED}
    changed = tuple(name for name in _COMPARED if values[name] != current[name])
    result = RowResult(
        row_number=row.row_number,
        outcome=UPDATED if changed else UNCHANGED,
        question=row.question,
        external_id=row.external_id,
        changed_fields=changed,
        faq_entry_id=entry_id,
    )
    return _Plan(result=result, values=values if changed else None, entry_id=entry_id)


def _with_reason(result: RowResult, reason: str) -> RowResult:
    return RowResult(
        row_number=result.row_number,
        outcome=REJECTED,
        question=result.question,
        external_id=result.external_id,
        reasons=(reason,),
    )


def _texts_to_index(plans: Iterable[_Plan | _RejectedRow]) -> dict[str, None]:
    """Every question and alternative the planned rows would index, in order, once each."""
    texts: dict[str, None] = {}
    for plan in plans:
        if not isinstance(plan, _Plan) or plan.values is None:
            continue
        if plan.entry_id is None or {"question", "alternatives"} & set(plan.result.changed_fields):
            texts.update(dict.fromkeys([plan.values["question"], *plan.values["alternatives"]]))
    return texts


def _plan_ahead(
    items: Sequence[FaqRow | _RejectedRow],
    *,
    columns: Sequence[str],
    existing: _ExistingEntries,
    first_row_by_question: dict[str, int],
) -> list[_Plan]:
    """The rows planned against what is saved now, only to embed their texts early: a row whose plan changes
    once the rows before it are saved embeds what it lacks when it is saved."""
    seen = dict(first_row_by_question)
    return [
        _plan_row(item, columns=columns, existing=existing, first_row_by_question=seen)
        for item in items
        if not isinstance(item, _RejectedRow)
    ]


def _create_entries_together(
    plans: Sequence[_Plan | _RejectedRow],
    *,
    job: ImportJob,
    existing: _ExistingEntries,
    embeddings: dict[str, Sequence[float]],
) -> dict[int, RowResult]:
    """Create the batch's new entries in a few statements; the results by row number.

    If that fails (another curator took one of the external ids meanwhile, say), nothing of it is kept and the
    rows are left to be saved one by one, so each is saved or reported alone.
    """
    new_plans = [
        plan for plan in plans if isinstance(plan, _Plan) and plan.entry_id is None and plan.values is not None
    ]
    if len(new_plans) < 2:
        return {}
    new_entries = [
        NewFaqEntry(external_id=plan.result.external_id, owner_department_id=job.owner_department_id, **plan.values)
        for plan in new_plans
    ]
    try:
        with transaction.atomic():
            entries = create_faq_entries(
                tenant_id=job.tenant_id,
                new_entries=new_entries,
                edited_by_id=job.created_by_id,
                embeddings=embeddings,
            )
    except Exception:
        logger.warning("FAQ import job %s saves %s new rows one by one", job.pk, len(new_plans), exc_info=True)
        return {}
    results = {}
    for plan, entry in zip(new_plans, entries, strict=True):
        existing.remember(entry, alternatives=plan.values["alternatives"])
        results[plan.result.row_number] = _saved(plan, entry)
    return results


def _apply_plan(
    plan: _Plan, *, job: ImportJob, existing: _ExistingEntries, embeddings: dict[str, Sequence[float]]
) -> RowResult:
    """Write one planned row in its own savepoint: it is saved whole or not at all."""
    if plan.values is None:
        return plan.result
    if plan.entry_id is None:
        owner_department_id = job.owner_department_id
    else:
        owner_department_id = existing.owner_department_ids[plan.entry_id]
    try:
        with transaction.atomic():
            entry, _ = save_faq_entry(
                tenant_id=job.tenant_id,
                entry_id=plan.entry_id,
                external_id=plan.result.external_id,
                owner_department_id=owner_department_id,
                edited_by_id=job.created_by_id,
                embeddings=embeddings,
                **plan.values,
            )
    except Exception as error:
        logger.exception("FAQ import job %s could not save row %s", job.pk, plan.result.row_number)
        reason = f"Lantern could not save this row ({type(error).__name__}); the other rows were imported"
        return _with_reason(plan.result, reason)
    existing.remember(entry, alternatives=plan.values["alternatives"])
    return _saved(plan, entry)


def _saved(plan: _Plan, entry: FaqEntry) -> RowResult:
    return RowResult(
        row_number=plan.result.row_number,
        outcome=plan.result.outcome,
        question=plan.result.question,
        external_id=plan.result.external_id,
        changed_fields=plan.result.changed_fields,
        faq_entry_id=entry.pk,
    )


def _finish_job(job: ImportJob, *, error: str = "") -> ImportJob:
    job.state = ImportJob.State.FAILED if error else ImportJob.State.DONE
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "finished_at", "results", "done", "total"])
    return job
