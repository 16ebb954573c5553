"""Uploaded documents: stored, read into sections, cut into chunks, embedded and made searchable.

Processing is all or nothing: a document is either ready with every chunk and vector written, or failed
with a message for the curator and no chunks at all.
"""

from __future__ import annotations

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from config.celery import enqueue_after_commit
from knowledge.documents import DocumentError, chunk_sections, parse_document
from knowledge.embeddings import embed_texts
from knowledge.faqs import set_lexical_vectors
from knowledge.models import Chunk, Document, Status

logger = logging.getLogger(__name__)

# Long enough that every section stays one piece: the document page shows sections whole.
_WHOLE_SECTION_CHARS = 10**9
_MAX_HEADING_CHARS = 500


@transaction.atomic
def upload_document(
    *,
    tenant_id: int,
    filename: str,
    content: bytes,
    title: str = "",
    owner_department_id: int | None = None,
    uploaded_by_id: int | None = None,
) -> tuple[Document, bool]:
    """Store an uploaded file and queue its processing; the same file uploaded again is not stored twice."""
    sha256 = hashlib.sha256(content).hexdigest()
    duplicate = Document.objects.filter(sha256=sha256).exclude(state=Document.State.FAILED).first()
    if duplicate is not None:
        return duplicate, False
    document = Document.objects.create(
        tenant_id=tenant_id,
        title=title.strip()[:300],
        filename=filename[:300],
        sha256=sha256,
        size=len(content),
        content=content,
        owner_department_id=owner_department_id,
        uploaded_by_id=uploaded_by_id,
    )
    _queue_processing(document)
    return document, True


@transaction.atomic
def replace_document_file(
    *, document: Document, filename: str, content: bytes, uploaded_by_id: int | None = None
) -> Document:
    """Put a new version of the file in place of the old one and process it again."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    document.filename = filename[:300]
    document.content = content
    document.sha256 = hashlib.sha256(content).hexdigest()
    document.size = len(content)
    document.version += 1
    document.uploaded_by_id = uploaded_by_id
    document.uploaded_at = timezone.now()
    document.state, document.error = Document.State.PROCESSING, ""
    document.save()
    _queue_processing(document)
    return document


@transaction.atomic
def reprocess_document(*, document: Document) -> Document:
    """Process a document again, after a failure that was not the file's fault."""
    document = Document.objects.select_for_update().get(pk=document.pk)
    document.state, document.error = Document.State.PROCESSING, ""
    document.save(update_fields=["state", "error"])
    _queue_processing(document)
    return document


def process_document(*, document_id: int) -> Document:
    """Read, chunk, embed and index a document; on a bad file, mark it failed with the reason and no chunks."""
    document = Document.objects.select_for_update().get(pk=document_id)
    if document.state != Document.State.PROCESSING:
        return document
    logger.info("Processing document %s (%s), version %s", document.pk, document.filename, document.version)
    try:
        with transaction.atomic():
            _write_chunks(document)
    except DocumentError as error:
        _mark_failed(document, error.message)
    except Exception:
        logger.exception("Document %s (%s) could not be processed", document.pk, document.filename)
        _mark_failed(
            document,
            f"Lantern could not process {document.filename} because of an internal error. "
            "Choose “Process again”; if it fails again, tell your administrator.",
        )
    return document


@transaction.atomic
def set_document_status(*, document: Document, status: str) -> Document:
    """Publish a document, archive it, or return it to draft; only published ones are searched."""
    if status not in Status.values:
        raise ValueError(f"Unknown status {status!r}.")
    document.status = status
    document.save(update_fields=["status"])
    return document


@transaction.atomic
def delete_document(*, document: Document) -> None:
    """Remove a document and its chunks."""
    document.delete()


def _queue_processing(document: Document) -> None:
    from knowledge.tasks import process_uploaded_document

    enqueue_after_commit(process_uploaded_document, document.tenant_id, document.pk)


def _write_chunks(document: Document) -> None:
    parsed = parse_document(document.filename, bytes(document.content))
    pieces = chunk_sections(parsed.sections)
    vectors = embed_texts([piece.indexed_text for piece in pieces])
    document.chunks.all().delete()
    chunks = Chunk.objects.bulk_create(
        Chunk(
            tenant_id=document.tenant_id,
            document=document,
            kind=Chunk.Kind.DOCUMENT,
            text=piece.text,
            heading=piece.heading[:_MAX_HEADING_CHARS],
            anchor=piece.anchor,
            position=piece.position,
            embedding=vector,
        )
        for piece, vector in zip(pieces, vectors, strict=True)
    )
    set_lexical_vectors(chunks)
    document.sections = _readable_sections(parsed.sections)
    document.title = document.title or parsed.title[:300]
    document.state, document.error = Document.State.READY, ""
    document.save(update_fields=["sections", "title", "state", "error"])
    ready = (document.pk, len(chunks))
    transaction.on_commit(lambda: logger.info("Document %s is ready with %d chunks", *ready))


def _readable_sections(sections) -> list[dict]:
    """Every section with the anchor its chunks link to (the same numbering chunk_sections gives)."""
    whole = iter(chunk_sections(sections, max_chars=_WHOLE_SECTION_CHARS, overlap_chars=0))
    readable = []
    for section in sections:
        anchor = next(whole).anchor if section.text.strip() else ""
        readable.append(
            {"heading_path": list(section.heading_path), "anchor": anchor, "text": section.text, "page": section.page}
        )
    return readable


def _mark_failed(document: Document, message: str) -> None:
    document.chunks.all().delete()
    document.sections = []
    document.state, document.error = Document.State.FAILED, message
    document.save(update_fields=["sections", "state", "error"])
