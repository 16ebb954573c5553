"""The evidence `knowledge.retrieval` gathers in SQL, recomputed in memory for a small tenant.

Tuning needs thousands of searches against tenants that differ by one held-out phrasing or one held-out
entry; rebuilding a database tenant for each would take hours. For a tenant below the common-term and
partial-index sizes the SQL legs are exact, so the same numbers can be computed here: best, mean and centroid
cosine per source, and BM25 with an entry's question and alternatives as one document. Fusion and calibration are
not recomputed: the tuner calls `knowledge.retrieval.rank_sources` and `match_confidence` themselves.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from knowledge.retrieval import BM25_B, BM25_K1, QueryEvidence, SourceEvidence
from knowledge.text import han_share, index_tokens, search_terms

Tokenizer = Callable[[str], list[str]]


@cache
def _indexed_counts(text: str, indexer: Tokenizer) -> Counter:
    return Counter(indexer(text))


def stored_tokens(text: str) -> list[str]:
    """The lexemes PostgreSQL stores for a chunk text, with repeats (the tsvector's positions)."""
    return index_tokens(text).split()


class SimulatedTenant:
    """A tenant whose FAQ entries are lists of texts (question first), with each text's embedding."""

    def __init__(
        self,
        entries: Sequence[Sequence[str]],
        vectors: dict[str, np.ndarray],
        *,
        indexer: Tokenizer = stored_tokens,
        searcher: Tokenizer = search_terms,
    ) -> None:
        self.entries = [list(texts) for texts in entries if texts]
        self.searcher = searcher
        self.chunk_source = np.array([index for index, texts in enumerate(self.entries) for _ in texts])
        self.matrix = np.stack([vectors[text] for texts in self.entries for text in texts])
        self.counts = [sum((_indexed_counts(text, indexer) for text in texts), Counter()) for texts in self.entries]
        # length(tsvector) counts distinct lexemes per chunk; a source's length is the sum over its chunks.
        self.lengths = np.array(
            [sum(len(_indexed_counts(text, indexer)) for text in texts) for texts in self.entries], dtype=np.float64
        )
        self.average_length = float(self.lengths.mean())
        self.frequencies = Counter(term for counts in self.counts for term in counts)
        self.sizes = np.bincount(self.chunk_source, minlength=len(self.entries))
        summed = np.zeros((len(self.entries), self.matrix.shape[1]))
        np.add.at(summed, self.chunk_source, self.matrix)
        self.centroids = summed / np.linalg.norm(summed, axis=1, keepdims=True)

    def idf(self, term: str) -> float:
        frequency = self.frequencies.get(term, 0)
        return math.log(1 + (len(self.entries) - frequency + 0.5) / (frequency + 0.5))

    def evidence(self, text: str, vector: np.ndarray) -> QueryEvidence:
        """What retrieval's legs would report for this question, for every source of the tenant."""
        terms = self.searcher(text)
        similarities = self.matrix @ vector
        best = np.full(len(self.entries), -1.0)
        np.maximum.at(best, self.chunk_source, similarities)
        mean = np.bincount(self.chunk_source, weights=similarities, minlength=len(self.entries)) / self.sizes
        centroid = self.centroids @ vector
        lexical = np.zeros(len(self.entries))
        norms = BM25_K1 * (1 - BM25_B + BM25_B * self.lengths / self.average_length)
        for term in terms:
            if not self.frequencies.get(term):
                continue
            weight = self.idf(term)
            counts = np.array([counts.get(term, 0) for counts in self.counts], dtype=np.float64)
            lexical += weight * counts * (BM25_K1 + 1) / (counts + norms)
        return QueryEvidence(
            terms=tuple(terms),
            han_share=han_share(terms),
            unseen_share=(sum(1 for term in terms if not self.frequencies.get(term)) / len(terms)) if terms else 1.0,
            lexical_ceiling=sum(self.idf(term) for term in terms),
            sources={
                index: SourceEvidence(
                    dense_best=float(best[index]),
                    dense_mean=float(mean[index]),
                    dense_centroid=float(centroid[index]),
                    lexical=lexical[index],
                )
                for index in range(len(self.entries))
            },
        )
