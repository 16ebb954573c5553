"""Hybrid retrieval over a tenant's published FAQ entries and document chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from knowledge.embeddings import embed_query
from knowledge.text import lexical_tokens, query_text
from tenancy.context import current_tenant_id


@dataclass(frozen=True)
class SearchHit:
    """One retrieved source: an FAQ entry or a document chunk, with its score."""

    kind: str  # "faq" or "chunk"
    id: int
    title: str  # the FAQ question, or the document section heading
    text: str  # the FAQ answer, or the chunk text
    score: float
    version: int = 1
    external_id: str = ""
    url: str = ""


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    confidence: float  # how sure the best hit answers the question, 0..1

    @property
    def matched(self) -> bool:
        return bool(self.hits) and self.confidence >= settings.LANTERN_MATCH_THRESHOLD


@dataclass(frozen=True)
class Weights:
    """How the two legs are combined into one score."""

    dense: float = 0.6
    lexical: float = 0.4
    candidates: int = 50


DEFAULT_WEIGHTS = Weights()

_PUBLISHED_CHUNKS = """
    FROM knowledge_chunk c
    LEFT JOIN knowledge_faqentry e ON e.id = c.faq_entry_id
    LEFT JOIN knowledge_document d ON d.id = c.document_id
    WHERE c.tenant_id = %(tenant)s
      AND (e.status = 'published' OR (d.status = 'published' AND d.state = 'ready'))
"""

# The distance is computed for every chunk of the tenant: an exact scan, so a small tenant never loses its
# results to an approximate index that filters by tenant after the fact.
_DENSE_SQL = f"""
SELECT c.id, 1 - (c.embedding <=> %(query)s::vector) AS similarity
{_PUBLISHED_CHUNKS}
ORDER BY (c.embedding <=> %(query)s::vector) + 0
LIMIT %(limit)s
"""

_LEXICAL_SQL = f"""
SELECT c.id, ts_rank_cd(c.lexical, to_tsquery('simple', %(query)s)) AS rank
{_PUBLISHED_CHUNKS}
  AND c.lexical @@ to_tsquery('simple', %(query)s)
ORDER BY rank DESC
LIMIT %(limit)s
"""

_CHUNK_SQL = """
SELECT c.id, c.kind, c.text, c.heading, c.anchor, c.faq_entry_id, c.document_id,
       e.question, e.answer, e.version, e.external_id, d.title, d.version
FROM knowledge_chunk c
LEFT JOIN knowledge_faqentry e ON e.id = c.faq_entry_id
LEFT JOIN knowledge_document d ON d.id = c.document_id
WHERE c.id = ANY(%(ids)s)
"""


def search(text: str, *, limit: int = 5, weights: Weights = DEFAULT_WEIGHTS) -> SearchResult:
    """The current tenant's published sources that best answer the question, best first."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise RuntimeError("search() needs a tenant: call it inside tenancy.context.tenant_context().")
    dense = dense_similarities(text, tenant_id=tenant_id, limit=weights.candidates)
    lexical = lexical_matches(text, tenant_id=tenant_id, limit=weights.candidates)
    chunks = _load_chunks(set(dense) | set(lexical))
    query_tokens = set(lexical_tokens(text))
    scored: dict[tuple[str, int], tuple[float, dict]] = {}
    for chunk_id, chunk in chunks.items():
        coverage = _coverage(query_tokens, chunk["tokens"]) if chunk_id in lexical else 0.0
        score = weights.dense * max(dense.get(chunk_id, 0.0), 0.0) + weights.lexical * coverage
        key = ("faq", chunk["faq_entry_id"]) if chunk["faq_entry_id"] else ("chunk", chunk_id)
        if key not in scored or score > scored[key][0]:
            scored[key] = (score, chunk)
    ranked = sorted(scored.items(), key=lambda item: item[1][0], reverse=True)[:limit]
    hits = tuple(_hit(kind, source_id, score, chunk) for (kind, source_id), (score, chunk) in ranked)
    return SearchResult(hits=hits, confidence=hits[0].score if hits else 0.0)


def dense_similarities(text: str, *, tenant_id: int, limit: int) -> dict[int, float]:
    """Cosine similarity of the question to the tenant's closest chunks."""
    vector = "[" + ",".join(f"{value:.7f}" for value in embed_query(text)) + "]"
    with connection.cursor() as cursor:
        cursor.execute(_DENSE_SQL, {"query": vector, "tenant": tenant_id, "limit": limit})
        return {chunk_id: float(similarity) for chunk_id, similarity in cursor.fetchall()}


def lexical_matches(text: str, *, tenant_id: int, limit: int) -> dict[int, float]:
    """Full-text rank of the tenant's chunks sharing tokens with the question."""
    query = query_text(text)
    if not query:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_LEXICAL_SQL, {"query": query, "tenant": tenant_id, "limit": limit})
        return {chunk_id: float(rank) for chunk_id, rank in cursor.fetchall()}


def _load_chunks(ids: set[int]) -> dict[int, dict]:
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_CHUNK_SQL, {"ids": list(ids)})
        columns = [
            "id", "kind", "text", "heading", "anchor", "faq_entry_id", "document_id",
            "question", "answer", "entry_version", "external_id", "document_title", "document_version",
        ]
        chunks = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    for chunk in chunks.values():
        chunk["tokens"] = set(lexical_tokens(f"{chunk['heading']} {chunk['text']}"))
    return chunks


def _coverage(query_tokens: set[str], chunk_tokens: set[str]) -> float:
    """Share of the question's tokens found in the chunk."""
    return len(query_tokens & chunk_tokens) / len(query_tokens) if query_tokens else 0.0


def _hit(kind: str, source_id: int, score: float, chunk: dict) -> SearchHit:
    if kind == "faq":
        return SearchHit(
            kind="faq",
            id=source_id,
            title=chunk["question"],
            text=chunk["answer"],
            score=round(score, 4),
            version=chunk["entry_version"],
            external_id=chunk["external_id"],
            url=f"/knowledge/faqs/{source_id}/",
        )
    heading = chunk["heading"] or chunk["document_title"]
    return SearchHit(
        kind="chunk",
        id=source_id,
        title=heading,
        text=chunk["text"],
        score=round(score, 4),
        version=chunk["document_version"],
        url=f"/knowledge/documents/{chunk['document_id']}/#{chunk['anchor']}",
    )


def hits_for_display(hits: Sequence[SearchHit]) -> list[dict]:
    """Sources as plain dictionaries, for storage with a message and for the APIs."""
    return [
        {"kind": hit.kind, "id": hit.id, "external_id": hit.external_id, "title": hit.title, "score": hit.score,
         "version": hit.version, "url": hit.url}
        for hit in hits
    ]
