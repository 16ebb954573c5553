"""Hybrid retrieval over a tenant's published FAQ entries and document chunks.

A *source* is what a hit points to: an FAQ entry (its question and every alternative phrasing) or one
document chunk. Two legs look at each candidate source:

- dense: the cosine similarity of the question's embedding to the source's chunks: the best chunk, the mean
  over all of them, and the similarity to their centroid (the direction of their summed embeddings), so an
  entry whose phrasings agree with the question beats one lucky phrasing;
- lexical: BM25 over Lantern's CJK-aware tokens (``knowledge.text``), an FAQ entry's question and
  alternatives counted as one document.

They are fused linearly. The dense part is scaled by how much of the question the embedding model can read:
the default all-MiniLM-L6-v2 is English-only, so on a Chinese question the lexical leg carries the ranking.
A logistic calibration turns the best source's evidence into ``confidence``, the probability that the best
hit answers the question; ``matched`` compares it with ``settings.LANTERN_MATCH_THRESHOLD``. Chinese and
English questions reach different fused scores for an equally good match, so every calibration feature is
split by the question's share of Han terms and each language gets its own slope and offset. Every weight was
fitted by ``bench/tune_retrieval.py`` on CLINC150's validation split and held-out FAQ variants only, with
each coefficient held to its sensible sign so the fit carries over to a tenant with a handful of entries.

Tenant filtering is exact. A tenant's chunks are scanned in full (exact distances) unless the tenant is
large enough to have its own partial HNSW index (``refresh_vector_indexes``), which then holds only that
tenant's rows: no post-filtering, so a small tenant never loses results to a big one. A tenant with many
sources reads its BM25 statistics from a snapshot (``knowledge.lexicon``) and looks for lexical candidates
by the question's rarest terms, found through the GIN index (see ``_TEXT_MATCH``); a small tenant's rows
are simply read and filtered. A search reads the lexical statistics, then sends one statement that finds
both legs' candidates and reads every candidate's chunks (``_EVIDENCE_SQL``), then loads its hits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import connection, connections

from knowledge.embeddings import embed_query, vector_literal
from knowledge.text import han_share, quoted, search_terms
from tenancy.context import current_tenant_id

DEFAULT_MATCH_THRESHOLD = 0.21
BM25_K1 = 1.2
BM25_B = 0.75
# A term found in this many of a tenant's chunks is common: it does not by itself make a chunk a lexical
# candidate (and a large tenant without a snapshot counts its chunks only this far).
COMMON_TERM_CHUNKS = 1000
# Tenants with at least this many sources read their BM25 statistics from a snapshot (knowledge.lexicon),
# match text through the GIN index and look for lexical candidates by their rarest terms.
LARGE_TENANT_SOURCES = 5000
# How many sources a large tenant's lexical leg may match before BM25 scores them.
LEXICAL_MATCH_BUDGET = 200
STATISTICS_CACHE_SECONDS = 600
# A tenant with this many chunks gets its own HNSW index; below it an exact scan is as fast (bench/).
PARTIAL_INDEX_MIN_CHUNKS = 5000
# Build effort of those indexes: at 100,000 chunks, 64 (pgvector's default) gave recall@10 0.952 at
# ef_search 200 and 256 gave 0.989, for a build about three times as long (bench/bench_retrieval.py).
PARTIAL_INDEX_EF_CONSTRUCTION = 256


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
    confidence: float  # probability that the best hit answers the question, 0..1

    @property
    def matched(self) -> bool:
        threshold = getattr(settings, "LANTERN_MATCH_THRESHOLD", DEFAULT_MATCH_THRESHOLD)
        return bool(self.hits) and self.confidence >= threshold


@dataclass(frozen=True)
class Weights:
    """How the legs are fused into one score, and how the best score becomes a confidence."""

    dense: float = 1.0  # best chunk's cosine similarity
    dense_mean: float = 0.0  # mean cosine over the source's chunks
    dense_centroid: float = 1.5  # cosine to the centroid of the source's chunks
    lexical: float = 0.03  # per unit of BM25
    # How well the embedding model reads Chinese, 0..1: the dense part is scaled by the share of the
    # question it can read, 1 - han_share * (1 - han_reading).
    han_reading: float = 0.1
    # Logistic calibration: the intercept, then one coefficient per CONFIDENCE_FEATURES entry.
    calibration: tuple[float, ...] = (-4.887, 2.556, 0.0, 0.0, 5.133, 0.0, 0.0, 1.85, 0.0)
    dense_candidates: int = 100
    lexical_candidates: int = 50
    ef_search: int = 200


DEFAULT_WEIGHTS = Weights()

# What the calibration may look at, in the order of Weights.calibration's coefficients. "English" features
# are weighted by the share of the question's terms that are not Han, "Chinese" ones by the Han share;
# bench/tune_retrieval.py compares subsets of them and leaves the rest at zero.
CONFIDENCE_FEATURES = (
    "English: best score",
    "English: margin over the second",
    "English: share of the BM25 ceiling",
    "Chinese: best score",
    "Chinese: margin over the second",
    "Chinese: share of the BM25 ceiling",
    "Chinese: offset",
    "share of question terms the tenant never uses",
)


@dataclass(frozen=True)
class SourceEvidence:
    """What the two legs say about one source."""

    dense_best: float
    dense_mean: float
    dense_centroid: float
    lexical: float  # BM25


@dataclass(frozen=True)
class QueryEvidence:
    """Everything fusion and calibration need about one question, source by source."""

    terms: tuple[str, ...]
    han_share: float
    unseen_share: float  # share of the question's terms that none of the tenant's chunks contains
    lexical_ceiling: float  # BM25 of a source holding every term once at average length
    sources: dict[int, SourceEvidence] = field(default_factory=dict)  # FAQ entry id, or -chunk id


@dataclass(frozen=True)
class LexicalStatistics:
    """BM25's collection statistics for one tenant and one question's terms."""

    sources: int
    average_length: float
    frequencies: dict[str, int]  # sources containing each term (counted up to COMMON_TERM_CHUNKS chunks)
    common: frozenset[str]

    def idf(self, term: str) -> float:
        frequency = self.frequencies.get(term, 0)
        return math.log(1 + (self.sources - frequency + 0.5) / (frequency + 0.5))


def search(text: str, *, limit: int = 5, weights: Weights = DEFAULT_WEIGHTS) -> SearchResult:
    """The current tenant's published sources that best answer the question, best first."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise RuntimeError("search() needs a tenant: call it inside tenancy.context.tenant_context().")
    if not text.strip():
        return SearchResult(hits=(), confidence=0.0)
    vector = embed_query(text)
    evidence = gather_evidence(text, vector, tenant_id=tenant_id, weights=weights)
    ranked = rank_sources(evidence, weights)
    if not ranked:
        return SearchResult(hits=(), confidence=0.0)
    confidence = match_confidence(evidence, ranked, weights)
    hits = _load_hits(ranked[:limit])
    return SearchResult(hits=hits, confidence=round(confidence, 4))


def gather_evidence(text: str, vector: np.ndarray, *, tenant_id: int, weights: Weights) -> QueryEvidence:
    """Both legs' candidates for a question, and every candidate source's evidence."""
    terms = search_terms(text)
    statistics = lexical_statistics(terms, tenant_id=tenant_id)
    sources = _candidate_evidence(vector_literal(vector), terms, statistics, tenant_id=tenant_id, weights=weights)
    # BM25 of a source of average length holding each term once: the sum of the terms' idf.
    ceiling = sum(statistics.idf(term) for term in terms)
    unseen = sum(1 for term in terms if not statistics.frequencies.get(term)) / len(terms) if terms else 1.0
    return QueryEvidence(
        terms=tuple(terms), han_share=han_share(terms), unseen_share=unseen, lexical_ceiling=ceiling, sources=sources
    )


def reading_share(evidence: QueryEvidence, weights: Weights) -> float:
    """The share of the question the embedding model can read (Chinese read at `han_reading`)."""
    return 1.0 - evidence.han_share * (1.0 - weights.han_reading)


def rank_sources(evidence: QueryEvidence, weights: Weights) -> list[tuple[int, float]]:
    """Candidate sources with their fused scores, best first."""
    readable = reading_share(evidence, weights)
    scored = [
        (
            source,
            readable
            * (
                weights.dense * found.dense_best
                + weights.dense_mean * found.dense_mean
                + weights.dense_centroid * found.dense_centroid
            )
            + weights.lexical * found.lexical,
        )
        for source, found in evidence.sources.items()
    ]
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))


def confidence_features(evidence: QueryEvidence, ranked: Sequence[tuple[int, float]]) -> list[float]:
    """What the calibration looks at, in the order of CONFIDENCE_FEATURES."""
    best_source, best = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    found = evidence.sources[best_source]
    lexical_share = found.lexical / evidence.lexical_ceiling if evidence.lexical_ceiling > 0 else 0.0
    chinese = evidence.han_share
    english = 1.0 - chinese
    return [
        english * best,
        english * (best - second),
        english * lexical_share,
        chinese * best,
        chinese * (best - second),
        chinese * lexical_share,
        chinese,
        evidence.unseen_share,
    ]


def match_confidence(evidence: QueryEvidence, ranked: Sequence[tuple[int, float]], weights: Weights) -> float:
    """The calibrated probability that the best ranked source answers the question."""
    if not ranked:
        return 0.0
    intercept, *coefficients = weights.calibration
    features = confidence_features(evidence, ranked)
    logit = intercept + sum(weight * value for weight, value in zip(coefficients, features, strict=True))
    return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


_PUBLISHED = """
    LEFT JOIN knowledge_faqentry e ON e.id = c.faq_entry_id
    LEFT JOIN knowledge_document d ON d.id = c.document_id
    WHERE c.tenant_id = %(tenant)s
      AND (e.status = 'published' OR (d.status = 'published' AND d.state = 'ready'))
"""

# The tenant's chunks nearest to the question, then the published ones among them. Ordered by inner product,
# which ranks unit vectors as cosine does: only a tenant's own partial index (vector_ip_ops) can serve it,
# never an index over every tenant's rows, so without one this is an exact scan. The nearest chunks are
# taken before the join that keeps published sources, so the planner sees one table with an accurate row
# count and picks the tenant's index whenever it has one; an HNSW scan yields at most ef_search rows
# anyway, so an exact scan takes as many.
_DENSE_SQL = f"""
SELECT c.id AS chunk, coalesce(c.faq_entry_id, -c.id) AS source
FROM (
    SELECT id, tenant_id, faq_entry_id, document_id, embedding <#> %(query)s::vector AS distance
    FROM knowledge_chunk
    WHERE tenant_id = %(tenant)s
    ORDER BY embedding <#> %(query)s::vector
    LIMIT %(ef_search)s::int
) AS c
{_PUBLISHED}
ORDER BY c.distance
LIMIT %(dense_limit)s
"""  # noqa: S608 - constant fragments; values travel as parameters


_SET_EF_SEARCH = "SELECT set_config('hnsw.ef_search', %(ef_search)s, true);"


def _ef_search(ef_search: int, limit: int) -> str:
    """How many neighbours HNSW keeps while it searches: at least as many as are asked for."""
    return str(max(ef_search, limit))


def dense_candidates(query: str, *, tenant_id: int, limit: int, ef_search: int = 200) -> dict[int, int]:
    """The sources of the chunks nearest to the question vector (a pgvector literal), nearest first (source →
    chunk id)."""
    parameters = {"query": query, "tenant": tenant_id, "dense_limit": limit, "ef_search": _ef_search(ef_search, limit)}
    with connection.cursor() as cursor:
        # Both statements in one round trip; the first result is the setting's.
        cursor.execute(_SET_EF_SEARCH + _DENSE_SQL, parameters)
        cursor.nextset()
        candidates: dict[int, int] = {}
        for chunk_id, source in cursor.fetchall():
            candidates.setdefault(source, chunk_id)
        return candidates


_STATISTICS_SQL = """
SELECT count(DISTINCT coalesce(faq_entry_id, -id)), coalesce(sum(length(lexical)), 0)
FROM knowledge_chunk
WHERE tenant_id = %(tenant)s
"""

# A large tenant's chunks are counted and matched through the GIN index on their text, which row-level
# security keeps out of reach of an ordinary query (@@ is not leakproof): knowledge_chunks_matching applies
# the tenant condition itself. That index holds every tenant's chunks, so a small tenant reads its own rows.
_LARGE_TENANT_FREQUENCY_SQL = """
SELECT t.term, s.chunks, s.sources
FROM (
    SELECT term, to_tsquery('simple', query) AS query
    FROM unnest(%(terms)s::text[], %(queries)s::text[]) AS u(term, query)
) AS t
CROSS JOIN LATERAL (
    SELECT count(*) AS chunks, count(DISTINCT source_id) AS sources
    FROM knowledge_chunks_matching(t.query, %(limit)s)
) AS s
"""

# A small tenant's chunks are read once, each matched against every term, rather than once per term.
_SMALL_TENANT_FREQUENCY_SQL = """
WITH t AS (
    SELECT term, to_tsquery('simple', query) AS query
    FROM unnest(%(terms)s::text[], %(queries)s::text[]) AS u(term, query)
)
SELECT t.term, count(m.chunk), count(DISTINCT m.source)
FROM t
LEFT JOIN (
    SELECT found.term, c.id AS chunk, coalesce(c.faq_entry_id, -c.id) AS source
    FROM knowledge_chunk c
    CROSS JOIN LATERAL (SELECT term FROM t WHERE c.lexical @@ t.query) AS found
    WHERE c.tenant_id = %(tenant)s
) AS m ON m.term = t.term
GROUP BY t.term
"""

_SNAPSHOT_SQL = """
SELECT s.sources, s.average_length, t.term, t.sources, t.chunks
FROM knowledge_lexicalsnapshot s
LEFT JOIN knowledge_termfrequency t ON t.tenant_id = s.tenant_id AND t.term = ANY(%(terms)s::text[])
WHERE s.tenant_id = %(tenant)s
"""


def lexical_statistics(terms: Sequence[str], *, tenant_id: int) -> LexicalStatistics:
    """How many sources the tenant has, their average length, and how many contain each term.

    A large tenant's come from its last snapshot (``knowledge.lexicon``), and terms the snapshot does not
    know yet (added since) are counted live; the other tenants' are all counted live."""
    with connection.cursor() as cursor:
        cursor.execute(_SNAPSHOT_SQL, {"terms": list(terms), "tenant": tenant_id})
        snapshot = cursor.fetchall()
    if snapshot:
        sources, average_length = snapshot[0][:2]
        counted = {term: (term_sources, chunks) for _, _, term, term_sources, chunks in snapshot if term is not None}
        counted |= _count_terms([term for term in terms if term not in counted], tenant_id=tenant_id, large=True)
        return _statistics(sources, average_length, counted)
    cached_key = f"retrieval:statistics:{tenant_id}"
    collection = django_cache.get(cached_key)
    if collection is None:
        with connection.cursor() as cursor:
            cursor.execute(_STATISTICS_SQL, {"tenant": tenant_id})
            sources, total_length = cursor.fetchone()
        collection = (int(sources), float(total_length) / sources if sources else 0.0)
        if sources >= LARGE_TENANT_SOURCES:  # until its first snapshot
            django_cache.set(cached_key, collection, STATISTICS_CACHE_SECONDS)
    large = collection[0] >= LARGE_TENANT_SOURCES
    return _statistics(*collection, _count_terms(terms, tenant_id=tenant_id, large=large))


def _count_terms(terms: Sequence[str], *, tenant_id: int, large: bool) -> dict[str, tuple[int, int]]:
    """Sources and chunks of the tenant holding each term (a large tenant's chunks counted up to
    COMMON_TERM_CHUNKS)."""
    if not terms:
        return {}
    parameters = {
        "terms": list(terms),
        "queries": [quoted(term) for term in terms],
        "tenant": tenant_id,
        "limit": COMMON_TERM_CHUNKS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_LARGE_TENANT_FREQUENCY_SQL if large else _SMALL_TENANT_FREQUENCY_SQL, parameters)
        return {term: (int(sources), int(chunks)) for term, chunks, sources in cursor.fetchall()}


def _statistics(sources: int, average_length: float, counted: dict[str, tuple[int, int]]) -> LexicalStatistics:
    return LexicalStatistics(
        sources=sources,
        average_length=average_length,
        frequencies={term: term_sources for term, (term_sources, _) in counted.items()},
        common=frozenset(term for term, (_, chunks) in counted.items() if chunks >= COMMON_TERM_CHUNKS),
    )


_LEXICAL_SQL = f"""
WITH terms AS (
    SELECT term, idf FROM unnest(%(terms)s::text[], %(idf)s::float8[]) AS t(term, idf)
),
matched AS (
    SELECT c.id, c.faq_entry_id, c.lexical
    FROM knowledge_chunk c
    {_PUBLISHED}
      AND {{text_match}}
),
frequency AS (
    SELECT coalesce(m.faq_entry_id, -m.id) AS source, t.term, t.idf,
           sum(coalesce(array_length(u.positions, 1), 1)) AS tf
    FROM matched m
    CROSS JOIN LATERAL unnest(m.lexical) AS u
    JOIN terms t ON t.term = u.lexeme
    GROUP BY 1, 2, 3
),
lengths AS MATERIALIZED (
    SELECT -m.id AS source, length(m.lexical) AS length FROM matched m WHERE m.faq_entry_id IS NULL
    UNION ALL
    SELECT e.source, (
        SELECT sum(length(x.lexical)) FROM knowledge_chunk x
        WHERE x.tenant_id = %(tenant)s AND x.faq_entry_id = e.source
    )
    FROM (SELECT DISTINCT faq_entry_id AS source FROM matched WHERE faq_entry_id IS NOT NULL) AS e
)
SELECT f.source,
       sum(f.idf * f.tf * (%(k1)s::float8 + 1)
           / (f.tf + %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * l.length / %(average)s::float8))) AS score
FROM frequency f JOIN lengths l USING (source)
GROUP BY f.source
ORDER BY score DESC, f.source
LIMIT %(lexical_limit)s
"""  # noqa: S608 - constant fragments; values travel as parameters


_TEXT_MATCH = {
    False: "c.lexical @@ to_tsquery('simple', %(text_query)s)",
    True: "c.id IN (SELECT chunk_id FROM knowledge_chunks_matching(to_tsquery('simple', %(text_query)s)))",
}


def lexical_candidates(
    terms: Sequence[str], statistics: LexicalStatistics, *, tenant_id: int, limit: int
) -> dict[int, float]:
    """The sources with the best BM25 for the question's terms, best first (source → BM25)."""
    lexical = _lexical_query(terms, statistics, tenant_id=tenant_id, limit=limit)
    if lexical is None:
        return {}
    sql, parameters = lexical
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return {source: float(score) for source, score in cursor.fetchall()}


def _lexical_query(
    terms: Sequence[str], statistics: LexicalStatistics, *, tenant_id: int, limit: int
) -> tuple[str, dict] | None:
    """The lexical leg's statement and its parameters; None when no term of the question is selective."""
    selective = [term for term in terms if statistics.frequencies.get(term) and term not in statistics.common]
    if statistics.sources >= LARGE_TENANT_SOURCES:
        selective = _rarest_terms(selective, statistics)
    if not selective:
        return None
    parameters = {
        "terms": list(terms),
        "idf": [statistics.idf(term) for term in terms],
        "text_query": " | ".join(quoted(term) for term in selective),
        "tenant": tenant_id,
        "k1": BM25_K1,
        "b": BM25_B,
        "average": statistics.average_length or 1.0,
        "lexical_limit": limit,
    }
    text_match = _TEXT_MATCH[statistics.sources >= LARGE_TENANT_SOURCES]
    return _LEXICAL_SQL.format(text_match=text_match), parameters


def _rarest_terms(terms: Sequence[str], statistics: LexicalStatistics) -> list[str]:
    """The rarest terms, while the sources holding them stay within LEXICAL_MATCH_BUDGET (at least one term).

    In a large tenant a question's ordinary terms each match hundreds of chunks; scoring all of them would
    cost more than the rest of the search. The rare terms carry most of BM25's weight, and the sources
    they find are still scored on every term of the question."""
    chosen: list[str] = []
    matched = 0
    for term in sorted(terms, key=lambda term: (statistics.frequencies[term], term)):
        matched += statistics.frequencies[term]
        if chosen and matched > LEXICAL_MATCH_BUDGET:
            break
        chosen.append(term)
    return chosen


# Both legs' candidates and every candidate's evidence in one statement, so a search makes one round trip
# for them: the dense leg, the lexical leg (or nothing), then each candidate source's chunks with their
# similarity to the question, their similarity's centroid and their counts of the question's terms.
_EVIDENCE_SQL = f"""
WITH dense AS (
{_DENSE_SQL}
),
lexical AS (
{{lexical}}
),
candidates AS MATERIALIZED (
    SELECT source FROM dense UNION SELECT source FROM lexical
)
SELECT coalesce(c.faq_entry_id, -c.id),
       1 - (c.embedding <=> %(query)s::vector),
       1 - (sum(c.embedding) OVER (PARTITION BY coalesce(c.faq_entry_id, -c.id)) <=> %(query)s::vector),
       coalesce(length(c.lexical), 0),
       found.lexemes,
       found.counts
FROM knowledge_chunk c
CROSS JOIN LATERAL (
    SELECT array_agg(u.lexeme) AS lexemes, array_agg(coalesce(array_length(u.positions, 1), 1)) AS counts
    FROM unnest(c.lexical) AS u
    WHERE u.lexeme = ANY(%(terms)s::text[])
) AS found
{_PUBLISHED}
  AND (c.faq_entry_id = ANY((SELECT array_agg(source) FROM candidates WHERE source > 0)::bigint[])
       OR c.id = ANY((SELECT array_agg(-source) FROM candidates WHERE source < 0)::bigint[]))
  AND c.embedding IS NOT NULL
"""  # noqa: S608 - constant fragments; values travel as parameters

_NO_LEXICAL_CANDIDATES = "SELECT NULL::bigint AS source WHERE false"


def _candidate_evidence(
    query: str, terms: Sequence[str], statistics: LexicalStatistics, *, tenant_id: int, weights: Weights
) -> dict[int, SourceEvidence]:
    """Each candidate source's dense and BM25 evidence; query is the question's vector as a pgvector literal."""
    parameters = {
        "query": query,
        "terms": list(terms),
        "tenant": tenant_id,
        "dense_limit": weights.dense_candidates,
        "ef_search": _ef_search(weights.ef_search, weights.dense_candidates),
    }
    lexical = _lexical_query(terms, statistics, tenant_id=tenant_id, limit=weights.lexical_candidates)
    if lexical is None:
        sql = _EVIDENCE_SQL.format(lexical=_NO_LEXICAL_CANDIDATES)
    else:
        sql = _EVIDENCE_SQL.format(lexical=lexical[0])
        parameters |= lexical[1]
    with connection.cursor() as cursor:
        cursor.execute(_SET_EF_SEARCH + sql, parameters)
        cursor.nextset()
        rows = cursor.fetchall()
    # Per-source sums in plain Python (numpy is slow on a few values at a time), then one BM25 for every
    # source at once from a matrix of term counts, source by term.
    similarities: dict[int, list[float]] = {}
    centroids: dict[int, float] = {}
    lengths: dict[int, int] = {}
    for source, similarity, centroid, length, _, _ in rows:
        similarities.setdefault(source, []).append(similarity)
        centroids[source] = centroid
        lengths[source] = lengths.get(source, 0) + length
    order = {source: number for number, source in enumerate(similarities)}
    positions = {term: position for position, term in enumerate(terms)}
    counts = np.zeros((len(order), len(terms)))
    for source, _, _, _, lexemes, term_counts in rows:
        for lexeme, count in zip(lexemes or (), term_counts or (), strict=True):
            counts[order[source], positions[lexeme]] += count
    idf = np.array([statistics.idf(term) for term in terms], dtype=np.float64)
    relative_lengths = np.array([lengths[source] for source in order], dtype=np.float64)
    relative_lengths /= statistics.average_length or 1.0
    norms = BM25_K1 * (1 - BM25_B + BM25_B * relative_lengths)
    scores = (idf * counts * (BM25_K1 + 1) / (counts + norms[:, None])).sum(axis=1).tolist()
    return {
        source: SourceEvidence(
            dense_best=max(similarities[source]),
            dense_mean=sum(similarities[source]) / len(similarities[source]),
            dense_centroid=centroids[source],
            lexical=scores[number],
        )
        for source, number in order.items()
    }


_FAQ_HITS_SQL = """
SELECT e.id, e.question, e.answer, e.version, e.external_id
FROM knowledge_faqentry e
WHERE e.id = ANY(%(ids)s) AND e.status = 'published'
"""

# Each hit chunk's document is looked up by its key: joined, the planner (which cannot estimate how many
# documents row-level security leaves) may read every document, or every chunk of every document.
_CHUNK_HITS_SQL = """
SELECT c.id, c.text, c.heading, c.anchor, c.document_id,
       (SELECT d.title FROM knowledge_document d WHERE d.id = c.document_id),
       (SELECT d.version FROM knowledge_document d WHERE d.id = c.document_id)
FROM knowledge_chunk c
WHERE c.id = ANY(%(ids)s)
"""


def _load_hits(ranked: Sequence[tuple[int, float]]) -> tuple[SearchHit, ...]:
    entry_ids = [source for source, _ in ranked if source > 0]
    chunk_ids = [-source for source, _ in ranked if source < 0]
    entries: dict[int, tuple] = {}
    chunks: dict[int, tuple] = {}
    with connection.cursor() as cursor:
        if entry_ids:
            cursor.execute(_FAQ_HITS_SQL, {"ids": entry_ids})
            entries = {row[0]: row for row in cursor.fetchall()}
        if chunk_ids:
            cursor.execute(_CHUNK_HITS_SQL, {"ids": chunk_ids})
            chunks = {row[0]: row for row in cursor.fetchall()}
    hits = []
    for source, score in ranked:
        if source > 0 and source in entries:
            _, question, answer, version, external_id = entries[source]
            hits.append(
                SearchHit(
                    kind="faq",
                    id=source,
                    title=question,
                    text=answer,
                    score=round(score, 4),
                    version=version,
                    external_id=external_id,
                    url=f"/knowledge/faqs/{source}/",
                )
            )
        elif source < 0 and -source in chunks:
            chunk_id, text, heading, anchor, document_id, title, version = chunks[-source]
            hits.append(
                SearchHit(
                    kind="chunk",
                    id=chunk_id,
                    title=heading or title,
                    text=text,
                    score=round(score, 4),
                    version=version,
                    url=f"/knowledge/documents/{document_id}/#{anchor}",
                )
            )
    return tuple(hits)


def hits_for_display(hits: Sequence[SearchHit]) -> list[dict]:
    """Sources as plain dictionaries, for storage with a message and for the APIs."""
    return [
        {
            "kind": hit.kind,
            "id": hit.id,
            "external_id": hit.external_id,
            "title": hit.title,
            "score": hit.score,
            "version": hit.version,
            "url": hit.url,
        }
        for hit in hits
    ]


def partial_index_name(tenant_id: int) -> str:
    """The name of a tenant's own HNSW index."""
    return f"chunk_embedding_tenant_{int(tenant_id)}"


def refresh_vector_indexes(*, min_chunks: int = PARTIAL_INDEX_MIN_CHUNKS, database: str = "owner") -> dict[str, list]:
    """Give each tenant with at least `min_chunks` chunks its own HNSW index; drop those of tenants under half.

    Runs as the table owner (the application role cannot create indexes), concurrently, so searches and
    writes go on meanwhile. Returns the tenant ids whose index was created and dropped.
    """
    owner = connections[database]
    owner.ensure_connection()
    raw = owner.connection
    previous_autocommit = raw.autocommit
    raw.autocommit = True
    created: list[int] = []
    dropped: list[int] = []
    try:
        with raw.cursor() as cursor:
            # A graph that fits in memory builds several times faster (pgvector warns when it does not).
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute("SELECT tenant_id, count(*) FROM knowledge_chunk GROUP BY tenant_id")
            sizes = dict(cursor.fetchall())
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'knowledge_chunk' AND indexname LIKE %s",
                ["chunk_embedding_tenant_%"],
            )
            existing = {row[0] for row in cursor.fetchall()}
            for tenant_id, size in sorted(sizes.items()):
                name = partial_index_name(tenant_id)
                if size >= min_chunks and name not in existing:
                    cursor.execute(
                        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON knowledge_chunk "
                        f"USING hnsw (embedding vector_ip_ops) "
                        f"WITH (m = 16, ef_construction = {PARTIAL_INDEX_EF_CONSTRUCTION}) "
                        f"WHERE tenant_id = {int(tenant_id)}"
                    )
                    created.append(tenant_id)
            for name in sorted(existing):
                tenant_id = int(name.rsplit("_", 1)[1])
                if sizes.get(tenant_id, 0) < min_chunks // 2:
                    cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                    dropped.append(tenant_id)
    finally:
        with raw.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")
        raw.autocommit = previous_autocommit
    return {"created": created, "dropped": dropped}
