"""What the retrieval benchmark searches: the public FAQ sets as tenants, and synthetic chunks in bulk."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("LANTERN_DATASETS") or REPOSITORY.parent / "shared" / "datasets")
QUALITY_SETS = ("banking77", "clinc150", "xsid_zh_tw")
SYNTHETIC_CHUNKS_PER_DOCUMENT = 50


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON Lines file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class Query:
    """A test question and the FAQ entry (its external id) that answers it; None when out of scope."""

    text: str
    gold: str | None


@dataclass
class FaqSet:
    """One public dataset as FAQ entries (question + variants) with its test and validation questions."""

    name: str
    entries: list[dict]
    queries: list[Query]
    validation: list[Query] = field(default_factory=list)

    @property
    def out_of_scope_count(self) -> int:
        return sum(query.gold is None for query in self.queries)


def load_faq_set(name: str) -> FaqSet:
    """Read faqs.jsonl, queries.jsonl and (when present) validation.jsonl of a dataset."""
    folder = DATASETS / name
    if not folder.is_dir():
        raise SystemExit(f"Dataset {name} not found under {DATASETS}: set LANTERN_DATASETS to the datasets folder.")

    def queries(filename: str) -> list[Query]:
        path = folder / filename
        return [Query(row["query"], row["gold_id"]) for row in read_jsonl(path)] if path.exists() else []

    return FaqSet(
        name=name,
        entries=read_jsonl(folder / "faqs.jsonl"),
        queries=queries("queries.jsonl"),
        validation=queries("validation.jsonl"),
    )


def insert_synthetic_chunks(
    *, tenant_id: int, vectors: np.ndarray, texts: Sequence[str], generator: np.random.Generator | None = None
) -> float:
    """Add one published document chunk per vector (with the matching text) to a tenant by bulk SQL; seconds taken.

    Runs on the owner connection (bulk loading is not something the application does); the texts are
    tokenised exactly as Lantern tokenises documents.
    """
    from django.db import connections
    from pgvector.psycopg import register_vector

    from knowledge.text import index_tokens

    started = time.perf_counter()
    owner = connections["owner"]
    owner.ensure_connection()
    raw = owner.connection
    register_vector(raw)
    count = len(vectors)
    documents = -(-count // SYNTHETIC_CHUNKS_PER_DOCUMENT)
    with raw.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO knowledge_document (tenant_id, title, filename, sha256, size, content, status, state, error,
                                            version, sections, uploaded_at)
            SELECT %s, 'Synthetic manual ' || n, 'synthetic-' || n || '.md', md5(n::text), 0, '', 'published',
                   'ready', '', 1, '[]', now()
            FROM generate_series(1, %s) AS n
            RETURNING id
            """,
            [tenant_id, documents],
        )
        document_ids = [row[0] for row in cursor.fetchall()]
        with cursor.copy(
            "COPY knowledge_chunk (tenant_id, document_id, kind, text, heading, anchor, position, embedding, lexical) "
            "FROM STDIN"
        ) as copy:
            for index in range(count):
                copy.write_row(
                    (
                        tenant_id,
                        document_ids[index // SYNTHETIC_CHUNKS_PER_DOCUMENT],
                        "document",
                        texts[index],
                        "",
                        "",
                        index % SYNTHETIC_CHUNKS_PER_DOCUMENT,
                        vectors[index],
                        _tsvector_literal(index_tokens(texts[index])),
                    )
                )
    if not raw.autocommit:
        raw.commit()
    return time.perf_counter() - started


def _tsvector_literal(tokens: str) -> str:
    """The text form of to_tsvector('simple', tokens): each token with its positions, quoted."""
    positions: dict[str, list[int]] = {}
    for position, token in enumerate(tokens.split(), start=1):
        positions.setdefault(token, []).append(position)
    return " ".join(
        "'" + token.replace("\\", "\\\\").replace("'", "''") + "':" + ",".join(map(str, spots))
        for token, spots in positions.items()
    )
