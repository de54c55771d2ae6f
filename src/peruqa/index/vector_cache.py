"""Reuse of vectors from the previous index, keyed by the exact text that was embedded.

A text embeds to the same vector with the same model, so keying on the text (not on ids or
positions) lets unchanged documents, renamed files and the untouched parts of an edited
document keep their vectors, and nothing stale can slip through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class VectorCache:
    """Vectors by text; ``embedded`` counts the texts this build had to embed."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._vectors: dict[bytes, np.ndarray] = {}
        self.embedded = 0

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self._vectors[text_key(text)] = vector

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Distinct texts with no known vector, in first-seen order."""
        unknown = dict.fromkeys(text for text in texts if text_key(text) not in self._vectors)
        return list(unknown)

    def lookup(self, texts: Sequence[str]) -> np.ndarray:
        """Rows for ``texts``; every one must have been added (see embed_pool.embed_jobs)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(
            np.vstack([self._vectors[text_key(text)] for text in texts]), dtype=np.float32
        )
