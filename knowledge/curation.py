"""The curator's view of FAQ entries: finding them, editing them safely, and reading what each edit changed."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from knowledge.faqs import save_faq_entry
from knowledge.gaps import link_unanswered
from knowledge.models import Chunk, FaqEntry, FaqRevision, Language, Status
from tenancy.models import Department

FIELD_LABELS = {
    "question": _("Question"),
    "answer": _("Answer"),
    "alternatives": _("Other ways to ask"),
    "category": _("Category"),
    "tags": _("Tags"),
    "language": _("Language"),
    "status": _("Status"),
    "owner_department_id": _("Department"),
    "external_id": _("External ID"),
}
_TEXT_FIELDS = ("question", "answer")
_LIST_FIELDS = ("alternatives", "tags")
_FIELD_ORDER = ("question", "answer", "alternatives", "category", "tags", "language", "status", "owner_department_id")

# Diff units: one Han character, a word, a run of spaces, or one other character.
_DIFF_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\w+|\s+|[^\w\s]")


class EditConflict(Exception):
    """The entry was changed by someone else after the curator opened it."""


@dataclass(frozen=True)
class FaqFilters:
    """What the curator's FAQ list is narrowed to; empty means any."""

    search: str = ""
    status: str = ""
    category: str = ""
    language: str = ""
    department_id: int | None = None


@dataclass(frozen=True)
class DiffPiece:
    kind: str  # "same", "removed" or "added"
    text: str


@dataclass(frozen=True)
class FieldChange:
    """One field of an entry before and after an edit, with the text differences marked."""

    name: str
    before: str
    after: str
    pieces: tuple[DiffPiece, ...] = ()  # for question and answer
    removed: tuple[str, ...] = ()  # for alternatives and tags
    added: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return str(FIELD_LABELS.get(self.name, self.name))

    @property
    def is_text(self) -> bool:
        return self.name in _TEXT_FIELDS

    @property
    def is_list(self) -> bool:
        return self.name in _LIST_FIELDS


@dataclass(frozen=True)
class RevisionChanges:
    """A revision of an entry and what it changed from the one before."""

    revision: FaqRevision
    changes: tuple[FieldChange, ...]
    is_current: bool
    is_first: bool


def filter_faq_entries(*, filters: FaqFilters) -> QuerySet[FaqEntry]:
    """The current tenant's FAQ entries matching the filters, most recently updated first."""
    entries = FaqEntry.objects.select_related("owner_department")
    if filters.search:
        text = filters.search.strip()
        alternative_matches = Chunk.objects.filter(
            faq_entry=OuterRef("pk"), kind=Chunk.Kind.ALTERNATIVE, text__icontains=text
        )
        entries = entries.filter(
            Q(question__icontains=text)
            | Q(answer__icontains=text)
            | Q(external_id__icontains=text)
            | Q(category__icontains=text)
            | Q(tags__contains=[text])
            | Exists(alternative_matches)
        )
    if filters.status:
        entries = entries.filter(status=filters.status)
    if filters.category:
        entries = entries.filter(category=filters.category)
    if filters.language:
        entries = entries.filter(language=filters.language)
    if filters.department_id:
        entries = entries.filter(owner_department_id=filters.department_id)
    return entries.order_by("-updated_at", "-id")


def with_alternatives(entries: QuerySet[FaqEntry]) -> QuerySet[FaqEntry]:
    """The entries with their alternative phrasings loaded in one more query, without the chunks' vectors."""
    chunks = Chunk.objects.filter(kind=Chunk.Kind.ALTERNATIVE).only("id", "faq_entry_id", "kind", "text")
    return entries.prefetch_related(Prefetch("chunks", queryset=chunks))


def status_counts() -> dict[str, int]:
    """How many of the current tenant's entries are in each status."""
    counts = dict(FaqEntry.objects.values_list("status").annotate(count=Count("id")).values_list("status", "count"))
    return {status: counts.get(status, 0) for status in Status.values}


def faq_categories() -> list[str]:
    """The categories the current tenant's entries use, in order."""
    categories = FaqEntry.objects.exclude(category="").order_by("category").values_list("category", flat=True)
    return list(categories.distinct())


@transaction.atomic
def write_faq_entry(
    *,
    tenant_id: int,
    question: str,
    answer: str,
    external_id: str = "",
    category: str = "",
    language: str = Language.ZH_HANT,
    tags: Sequence[str] = (),
    status: str = Status.DRAFT,
    owner_department_id: int | None = None,
    alternatives: Sequence[str] = (),
    entry_id: int | None = None,
    expected_version: int | None = None,
    edited_by_id: int | None = None,
    unanswered_question_ids: Sequence[int] = (),
) -> tuple[FaqEntry, bool]:
    """Save an entry from the curator's form; refuses to overwrite an edit made since the form was opened."""
    if entry_id is not None and expected_version is not None:
        current_version = FaqEntry.objects.select_for_update().values_list("version", flat=True).get(pk=entry_id)
        if current_version != expected_version:
            raise EditConflict(f"version {current_version} was saved while you were editing version {expected_version}")
    entry, changed = save_faq_entry(
        tenant_id=tenant_id,
        question=question,
        answer=answer,
        external_id=external_id,
        category=category,
        language=language,
        tags=tags,
        status=status,
        owner_department_id=owner_department_id,
        alternatives=alternatives,
        entry_id=entry_id,
        edited_by_id=edited_by_id,
    )
    if unanswered_question_ids:
        link_unanswered(question_ids=unanswered_question_ids, faq_entry_id=entry.pk)
    return entry, changed


def revision_history(*, entry: FaqEntry) -> list[RevisionChanges]:
    """Every revision of the entry, newest first, each with what it changed from the one before."""
    revisions = list(entry.revisions.select_related("edited_by").order_by("-version"))
    department_names = dict(Department.objects.values_list("pk", "name"))
    history = []
    for index, revision in enumerate(revisions):
        previous = revisions[index + 1] if index + 1 < len(revisions) else None
        history.append(
            RevisionChanges(
                revision=revision,
                changes=snapshot_changes(
                    before=previous.snapshot if previous else {},
                    after=revision.snapshot,
                    department_names=department_names,
                ),
                is_current=revision.version == entry.version,
                is_first=previous is None,
            )
        )
    return history


def snapshot_changes(
    *, before: dict, after: dict, department_names: dict[int, str] | None = None
) -> tuple[FieldChange, ...]:
    """The fields that differ between two revision snapshots, texts and lists compared piece by piece."""
    department_names = department_names or {}
    changes = []
    for name in _FIELD_ORDER:
        old, new = before.get(name), after.get(name)
        if old == new or (not old and not new):
            continue
        if name in _LIST_FIELDS:
            old_items, new_items = list(old or []), list(new or [])
            changes.append(
                FieldChange(
                    name=name,
                    before="\n".join(old_items),
                    after="\n".join(new_items),
                    removed=tuple(item for item in old_items if item not in new_items),
                    added=tuple(item for item in new_items if item not in old_items),
                )
            )
        elif name in _TEXT_FIELDS:
            changes.append(
                FieldChange(name=name, before=old or "", after=new or "", pieces=text_changes(old or "", new or ""))
            )
        else:
            changes.append(
                FieldChange(
                    name=name,
                    before=_display_value(name, old, department_names),
                    after=_display_value(name, new, department_names),
                )
            )
    return tuple(changes)


def text_changes(before: str, after: str) -> tuple[DiffPiece, ...]:
    """The after text as pieces kept, removed and added, word by word (character by character for Chinese)."""
    old, new = _DIFF_TOKEN.findall(before), _DIFF_TOKEN.findall(after)
    pieces: list[DiffPiece] = []
    removed, added = "", ""

    def flush() -> None:
        nonlocal removed, added
        pieces.extend(DiffPiece(kind, text) for kind, text in (("removed", removed), ("added", added)) if text)
        removed, added = "", ""

    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        kept = "".join(old[old_start:old_end]) if operation == "equal" else ""
        # A space kept between two changes reads better as part of one change than as its own piece.
        if operation != "equal" or (kept.isspace() and (removed or added) and new_end < len(new)):
            removed += "".join(old[old_start:old_end])
            added += "".join(new[new_start:new_end])
            continue
        flush()
        if pieces and pieces[-1].kind == "same":
            pieces[-1] = DiffPiece("same", pieces[-1].text + kept)
        else:
            pieces.append(DiffPiece("same", kept))
    flush()
    return tuple(pieces)


def _display_value(name: str, value: object, department_names: dict[int, str]) -> str:
    if value in (None, ""):
        return ""
    if name == "owner_department_id":
        return department_names.get(value, str(value))
    if name == "status":
        return str(Status(value).label) if value in Status.values else str(value)
    if name == "language":
        return str(Language(value).label) if value in Language.values else str(value)
    return str(value)
