"""Retrieval: dense search fused with BM25, returning the best passages for a question."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from peruqa.index.embedding import Embedder
from peruqa.index.store import IndexData
from peruqa.ingest.chunking import Chunk
from peruqa.ingest.documents import Document
from peruqa.qa.question import Question, analyse
from peruqa.text.lexical import LexicalIndex

# Candidates taken from each side before fusion; enough for the top 20 after re-scoring.
_CANDIDATES = 50


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    document: Document
    score: float  # fused score used for ranking
    dense: float  # cosine similarity of question and chunk
    lexical: float  # BM25 normalised to 0..1 within this question's candidates


@dataclass(frozen=True)
class Query:
    question: Question
    vector: np.ndarray
    known_fraction: float  # share of the question's terms the corpus contains


@dataclass(frozen=True)
class Favour:
    """A document the conversation is about (``qa.followup``): its passages are all
    candidates, and rank as if their fused score were ``by`` higher. Their scores stay as
    retrieval measured them, since the trained ranker reads those."""

    doc_id: str
    by: float


@dataclass(frozen=True)
class Retrieval:
    query: Query
    passages: list[Passage]


class Retriever:
    def __init__(self, data: IndexData, embedder: Embedder, lexical_weight: float = 0.5) -> None:
        self.data = data
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.lexical = LexicalIndex(
            [f"{data.documents[c.doc_id].title} {c.text}" for c in data.chunks]
        )
        self._doc_chunks: dict[str, list[int]] = {}
        for i, chunk in enumerate(data.chunks):
            self._doc_chunks.setdefault(chunk.doc_id, []).append(i)

    def embed(self, question: Question) -> Query:
        return self.query_from(question, self.embedder.embed_queries([question.full_text])[0])

    def query_from(self, question: Question, vector: np.ndarray) -> Query:
        """A query from a vector embedded earlier (training caches its questions' vectors)."""
        return Query(question, vector, self.lexical.known_fraction(question.terms))

    def nearest_language(self, query: Query) -> str | None:
        """The language of the passage closest to ``query``'s vector (None: empty index)."""
        if self.data.faiss_index.ntotal == 0:
            return None
        _, ids = self.data.faiss_index.search(query.vector[None, :], 1)
        if ids[0][0] < 0:
            return None
        chunk = self.data.chunks[int(ids[0][0])]
        return self.data.documents[chunk.doc_id].language

    def search(self, question: str, top_k: int = 5) -> Retrieval:
        """Analyse, embed and search in one call (tools and tests; the service times each)."""
        return self.retrieve(self.embed(analyse(question)), top_k)

    def retrieve(self, query: Query, top_k: int = 5, favour: Favour | None = None) -> Retrieval:
        total = self.data.faiss_index.ntotal
        if total == 0:
            return Retrieval(query, [])
        k = min(total, max(_CANDIDATES, top_k))
        dense_scores, dense_ids = self.data.faiss_index.search(query.vector[None, :], k)
        dense = {
            int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0
        }

        bm25 = self.lexical.scores(query.question.search_terms)
        best = float(bm25.max()) if len(bm25) else 0.0
        lexical: dict[int, float] = {}
        if best > 0:
            for i in np.argsort(-bm25)[:k]:
                if bm25[i] > 0:
                    lexical[int(i)] = float(bm25[i]) / best
        for i in set(lexical) - set(dense):
            # Lexical-only candidates still need a dense score to be ranked fairly.
            dense[i] = float(self.data.faiss_index.reconstruct(i) @ query.vector)
        favoured = set(self._doc_chunks.get(favour.doc_id, ())) if favour else set()
        self._score_all(sorted(favoured - set(dense)), query.vector, dense)

        # Lexical evidence counts only as far as the corpus knows the question's words,
        # so a Spanish question over English documents is ranked mostly by meaning.
        weight = self.lexical_weight * query.known_fraction
        fused = {i: dense[i] + weight * lexical.get(i, 0.0) for i in dense}
        lift = favour.by if favour else 0.0
        # Ties go to the later chunk, as they always have.
        ranked = sorted(dense, key=lambda i: (fused[i] + lift * (i in favoured), i), reverse=True)
        passages = []
        for i in ranked[:top_k]:
            chunk = self.data.chunks[i]
            passages.append(
                Passage(
                    chunk=chunk,
                    document=self.data.documents[chunk.doc_id],
                    score=fused[i],
                    dense=dense[i],
                    lexical=lexical.get(i, 0.0),
                )
            )
        return Retrieval(query, passages)

    def _score_all(self, ids: list[int], vector: np.ndarray, dense: dict[int, float]) -> None:
        """Dense scores of chunks the search did not return (a favoured document's)."""
        if not ids:
            return
        vectors = self.data.chunk_vectors
        if vectors is None:
            vectors_of = np.stack([self.data.faiss_index.reconstruct(i) for i in ids])
        else:
            vectors_of = vectors[ids]
        for i, score in zip(ids, vectors_of @ vector, strict=True):
            dense[i] = float(score)
