"""Writing FAQ entries, their revisions, and the chunks that make them searchable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction

import audit
from knowledge.embeddings import embed_texts, vector_literal
from knowledge.models import Chunk, FaqEntry, FaqRevision, Status
from knowledge.text import index_tokens

EDITABLE_FIELDS = ("question", "answer", "category", "language", "tags", "status", "owner_department_id")


@dataclass(frozen=True)
class NewFaqEntry:
    """The values of an FAQ entry to create, as save_faq_entry takes them."""

    question: str
    answer: str
    external_id: str = ""
    category: str = ""
    language: str = "zh-hant"
    tags: Sequence[str] = ()
    status: str = Status.DRAFT
    owner_department_id: int | None = None
    alternatives: Sequence[str] = ()


def _cleaned(new: NewFaqEntry) -> tuple[dict, list[str]]:
    """The entry's editable fields as stored, and its alternatives, trimmed and without blanks."""
    fields = {
        "question": new.question.strip(),
        "answer": new.answer.strip(),
        "category": new.category.strip(),
        "language": new.language,
        "tags": [tag.strip() for tag in new.tags if tag.strip()],
        "status": new.status,
        "owner_department_id": new.owner_department_id,
    }
    return fields, [text.strip() for text in new.alternatives if text.strip()]


def _snapshot(entry: FaqEntry, alternatives: Sequence[str]) -> dict:
    return {
        **{name: getattr(entry, name) for name in EDITABLE_FIELDS},
        "external_id": entry.external_id,
        "alternatives": list(alternatives),
    }


@transaction.atomic
def save_faq_entry(
    *,
    tenant_id: int,
    question: str,
    answer: str,
    external_id: str = "",
    category: str = "",
    language: str = "zh-hant",
    tags: Sequence[str] = (),
    status: str = Status.DRAFT,
    owner_department_id: int | None = None,
    alternatives: Sequence[str] = (),
    entry_id: int | None = None,
    edited_by_id: int | None = None,
    embeddings: Mapping[str, Sequence[float]] | None = None,
) -> tuple[FaqEntry, bool]:
    """Create an FAQ entry, or update the one with this id or external id; every change leaves a revision.

    embeddings may hold vectors already computed for the question and alternatives (an import embeds a
    batch of rows at once); texts not in it are embedded here.
    """
    fields, alternatives = _cleaned(
        NewFaqEntry(
            question=question,
            answer=answer,
            category=category,
            language=language,
            tags=tags,
            status=status,
            owner_department_id=owner_department_id,
            alternatives=alternatives,
        )
    )
    if entry_id is not None:
        entry = FaqEntry.objects.select_for_update().get(pk=entry_id)
    elif external_id:
        entry = FaqEntry.objects.select_for_update().filter(external_id=external_id).first()
    else:
        entry = None
    created = entry is None
    if created:
        entry = FaqEntry.objects.create(tenant_id=tenant_id, external_id=external_id, **fields)
        changed = [*fields, "alternatives"]
    else:
        changed = [name for name, value in fields.items() if getattr(entry, name) != value]
        if entry.alternatives != alternatives:
            changed.append("alternatives")
        if not changed:
            return entry, False
        for name, value in fields.items():
            setattr(entry, name, value)
        entry.version += 1
        entry.save()
    if created or {"question", "alternatives"} & set(changed):
        if not created:
            Chunk.objects.filter(faq_entry=entry).delete()
        _insert_chunks([(entry, alternatives)], embeddings or {})
    FaqRevision.objects.create(
        tenant_id=entry.tenant_id,
        faq_entry=entry,
        version=entry.version,
        edited_by_id=edited_by_id,
        changed_fields=changed,
        snapshot=_snapshot(entry, alternatives),
    )
    if "status" in changed and entry.status in _AUDITED_STATUS_EVENTS:
        _record_status_event(entry, edited_by_id=edited_by_id, username=_username(edited_by_id))
    return entry, created


@transaction.atomic
def create_faq_entries(
    *,
    tenant_id: int,
    new_entries: Sequence[NewFaqEntry],
    edited_by_id: int | None = None,
    embeddings: Mapping[str, Sequence[float]] | None = None,
) -> list[FaqEntry]:
    """Create many FAQ entries in a few statements, each as save_faq_entry would create it alone.

    All or nothing: an external id already taken fails the whole call, so a caller that must save every
    entry it can saves them one by one after such a failure.
    """
    if not new_entries:
        return []
    entries = []
    alternatives = []
    for new in new_entries:
        fields, entry_alternatives = _cleaned(new)
        entries.append(FaqEntry(tenant_id=tenant_id, external_id=new.external_id, **fields))
        alternatives.append(entry_alternatives)
    FaqEntry.objects.bulk_create(entries)
    _insert_chunks(list(zip(entries, alternatives, strict=True)), embeddings or {})
    FaqRevision.objects.bulk_create(
        FaqRevision(
            tenant_id=tenant_id,
            faq_entry=entry,
            version=entry.version,
            edited_by_id=edited_by_id,
            changed_fields=[*EDITABLE_FIELDS, "alternatives"],
            snapshot=_snapshot(entry, entry_alternatives),
        )
        for entry, entry_alternatives in zip(entries, alternatives, strict=True)
    )
    username = _username(edited_by_id)
    for entry in entries:
        if entry.status in _AUDITED_STATUS_EVENTS:
            _record_status_event(entry, edited_by_id=edited_by_id, username=username)
    return entries


_AUDITED_STATUS_EVENTS = {Status.PUBLISHED: "faq_published", Status.ARCHIVED: "faq_archived"}


def _username(user_id: int | None) -> str:
    if user_id is None:
        return ""
    return get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first() or ""


def _record_status_event(entry: FaqEntry, *, edited_by_id: int | None, username: str) -> None:
    """Publishing or archiving changes what employees are told, so it goes on the audit chain."""
    audit.record(
        tenant_id=entry.tenant_id,
        kind=_AUDITED_STATUS_EVENTS[entry.status],
        actor_user_id=edited_by_id,
        actor_username=username,
        payload={"faq_entry_id": entry.pk, "version": entry.version},
    )


def restore_revision(*, revision: FaqRevision, edited_by_id: int | None = None) -> FaqEntry:
    """Make an earlier revision the entry's current state (itself a new revision)."""
    snapshot = revision.snapshot
    entry, _ = save_faq_entry(
        tenant_id=revision.tenant_id,
        entry_id=revision.faq_entry_id,
        question=snapshot["question"],
        answer=snapshot["answer"],
        category=snapshot["category"],
        language=snapshot["language"],
        tags=snapshot["tags"],
        status=snapshot["status"],
        owner_department_id=snapshot["owner_department_id"],
        alternatives=snapshot["alternatives"],
        edited_by_id=edited_by_id,
    )
    return entry


def set_status(*, entry_ids: Sequence[int], status: str, edited_by_id: int | None = None) -> int:
    """Publish, archive or return to draft several entries at once; returns how many changed."""
    changed = 0
    for entry in FaqEntry.objects.filter(pk__in=entry_ids).exclude(status=status).prefetch_related("chunks"):
        save_faq_entry(
            tenant_id=entry.tenant_id,
            entry_id=entry.pk,
            question=entry.question,
            answer=entry.answer,
            category=entry.category,
            language=entry.language,
            tags=entry.tags,
            status=status,
            owner_department_id=entry.owner_department_id,
            alternatives=entry.alternatives,
            edited_by_id=edited_by_id,
        )
        changed += 1
    return changed


# The chunks of entries in one statement, full-text vector included: inserting and then filling in the
# lexical column would write every row twice.
_INSERT_FAQ_CHUNKS = """
INSERT INTO knowledge_chunk (tenant_id, faq_entry_id, kind, text, heading, anchor, position, embedding, lexical)
SELECT %(tenant)s, v.entry, v.kind, v.text, '', '', v.position, v.embedding::vector, to_tsvector('simple', v.tokens)
FROM unnest(%(entries)s::bigint[], %(positions)s::int[], %(kinds)s::text[], %(texts)s::text[],
            %(embeddings)s::text[], %(tokens)s::text[]) AS v(entry, position, kind, text, embedding, tokens)
"""


def _insert_chunks(
    entries: Sequence[tuple[FaqEntry, Sequence[str]]], embeddings: Mapping[str, Sequence[float]]
) -> None:
    """Index each entry's question and alternatives (all of one tenant); texts without a vector are embedded."""
    rows = [
        (entry.pk, position, kind, text)
        for entry, alternatives in entries
        for position, (kind, text) in enumerate(
            [(Chunk.Kind.QUESTION, entry.question)] + [(Chunk.Kind.ALTERNATIVE, text) for text in alternatives]
        )
    ]
    missing = list(dict.fromkeys(text for *_, text in rows if text not in embeddings))
    computed = dict(zip(missing, embed_texts(missing), strict=True))

    def vector(text: str) -> str:
        return vector_literal(embeddings[text] if text in embeddings else computed[text])

    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_FAQ_CHUNKS,
            {
                "tenant": entries[0][0].tenant_id,
                "entries": [entry_id for entry_id, *_ in rows],
                "positions": [position for _, position, *_ in rows],
                "kinds": [str(kind) for *_, kind, _ in rows],
                "texts": [text for *_, text in rows],
                "embeddings": [vector(text) for *_, text in rows],
                "tokens": [index_tokens(text) for *_, text in rows],
            },
        )


def set_lexical_vectors(chunks: Sequence[Chunk]) -> None:
    """Fill the chunks' full-text vectors from Lantern's own CJK-aware tokens."""
    if not chunks:
        return
    values = ", ".join(["(%s::bigint, %s::text)"] * len(chunks))
    parameters: list = []
    for chunk in chunks:
        parameters += [chunk.pk, index_tokens(f"{chunk.heading} {chunk.text}".strip())]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE knowledge_chunk SET lexical = to_tsvector('simple', v.tokens) "  # noqa: S608 - placeholders only
            f"FROM (VALUES {values}) AS v(id, tokens) WHERE knowledge_chunk.id = v.id",
            parameters,
        )


def reembed_chunks(*, batch_size: int = 256) -> int:
    """Recompute the embeddings of the current tenant's chunks; returns how many were embedded."""
    chunks = list(Chunk.objects.order_by("id").only("id", "text", "heading"))
    for start in range(0, len(chunks), batch_size):
        batch = chunks[start : start + batch_size]
        # A document chunk is embedded with its headings, as it was on upload (documents.Chunk.indexed_text).
        texts = [f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text for chunk in batch]
        for chunk, vector in zip(batch, embed_texts(texts), strict=True):
            chunk.embedding = vector
        Chunk.objects.bulk_update(batch, ["embedding"])
        set_lexical_vectors(batch)
    return len(chunks)
