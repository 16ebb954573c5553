"""Embeddings of benchmark texts kept on disk, so a second run does not encode the same questions again."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
CACHE_FOLDER = REPOSITORY / "var" / "bench"


def cached_embeddings(texts: Sequence[str]) -> np.ndarray:
    """Unit embeddings of the texts under the configured model; texts never seen before are encoded in batch."""
    from knowledge.embeddings import embed_texts, model_name

    CACHE_FOLDER.mkdir(parents=True, exist_ok=True)
    path = CACHE_FOLDER / f"embeddings-{hashlib.sha256(model_name().encode()).hexdigest()[:12]}.npz"
    stored: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path, allow_pickle=False) as archive:
            stored = dict(zip(archive["texts"].tolist(), archive["vectors"], strict=True))
    missing = [text for text in dict.fromkeys(texts) if text not in stored]
    if missing:
        stored.update(zip(missing, embed_texts(missing), strict=True))
        names = list(stored)
        np.savez(path, texts=np.array(names), vectors=np.stack([stored[name] for name in names]))
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([stored[text] for text in texts]).astype(np.float32)
