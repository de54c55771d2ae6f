"""The index on disk: FAISS vectors for chunks, sentence vectors for answers, and a manifest.

Layout of an index folder:
    manifest.json     model, dimension, document hashes, build time, package version
    chunks.faiss      inner-product index over normalised chunk vectors
    sentences.npy     one normalised vector per distinct sentence, for answer scoring
    chunks.jsonl      one chunk per line, with its sentences and offsets
    documents.json    document metadata and text (for citations and the document view)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from peruqa import __version__
from peruqa.chunking import Chunk, Sentence, chunk_document
from peruqa.documents import Document, source_files
from peruqa.embedding import Embedder
from peruqa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    documents: dict[str, str]  # source path -> sha256 of the file
    built_at: str
    version: str
    chunks: int
    sentences: int
    chunk_max_chars: int
    # Files that could not be read, with their hashes, so they don't count as new each time.
    skipped: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT_VERSION


@dataclass
class IndexData:
    """Everything retrieval and answering need, loaded once into memory."""

    manifest: Manifest
    faiss_index: faiss.Index
    chunks: list[Chunk]
    documents: dict[str, Document]
    sentence_vectors: np.ndarray
    sentence_rows: dict[tuple[str, int], int] = field(default_factory=dict)

    def sentence_vector(self, doc_id: str, sentence: Sentence) -> np.ndarray:
        row: np.ndarray = self.sentence_vectors[self.sentence_rows[(doc_id, sentence.start)]]
        return row


def chunk_embedding_text(document: Document, chunk: Chunk) -> str:
    # The title names the organisation, which the chunk itself often does not.
    return f"{document.title}\n{chunk.text}"


def sentence_embedding_text(document: Document, sentence: Sentence) -> str:
    if sentence.heading and sentence.heading != sentence.text:
        return f"{document.title} — {sentence.heading}: {sentence.text}"
    return f"{document.title} — {sentence.text}"


def _batched_passages(
    embedder: Embedder, texts: Sequence[str], progress: Progress | None, done: int, total: int
) -> np.ndarray:
    parts = []
    for begin in range(0, len(texts), 16):
        parts.append(embedder.embed_passages(texts[begin : begin + 16]))
        if progress:
            progress(done + min(begin + 16, len(texts)), total)
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack(parts)


def build_index_data(
    documents: Sequence[Document],
    embedder: Embedder,
    chunk_max_chars: int = 700,
    overlap: int = 1,
    progress: Progress | None = None,
    skipped: dict[str, str] | None = None,
) -> IndexData:
    chunks: list[Chunk] = []
    by_id = {document.doc_id: document for document in documents}
    for document in documents:
        chunks.extend(chunk_document(document, chunk_max_chars, overlap))
    sentence_rows: dict[tuple[str, int], int] = {}
    sentence_texts: list[str] = []
    for chunk in chunks:
        for sentence in chunk.sentences:
            key = (chunk.doc_id, sentence.start)
            if key not in sentence_rows:
                sentence_rows[key] = len(sentence_texts)
                sentence_texts.append(sentence_embedding_text(by_id[chunk.doc_id], sentence))
    chunk_texts = [chunk_embedding_text(by_id[chunk.doc_id], chunk) for chunk in chunks]
    total = len(chunk_texts) + len(sentence_texts)
    chunk_vectors = _batched_passages(embedder, chunk_texts, progress, 0, total)
    sentence_vectors = _batched_passages(
        embedder, sentence_texts, progress, len(chunk_texts), total
    )
    faiss_index = faiss.IndexFlatIP(embedder.dim)
    if len(chunk_vectors):
        faiss_index.add(chunk_vectors)
    manifest = Manifest(
        model=embedder.name,
        dim=embedder.dim,
        documents={document.source: document.sha256 for document in documents},
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        version=__version__,
        chunks=len(chunks),
        sentences=len(sentence_texts),
        chunk_max_chars=chunk_max_chars,
        skipped=dict(skipped or {}),
    )
    return IndexData(manifest, faiss_index, chunks, by_id, sentence_vectors, sentence_rows)


def _chunk_record(chunk: Chunk) -> dict[str, object]:
    return asdict(chunk)


def _chunk_from_record(record: dict[str, object]) -> Chunk:
    sentences = tuple(Sentence(**s) for s in record.pop("sentences"))  # type: ignore[attr-defined]
    return Chunk(sentences=sentences, **record)  # type: ignore[arg-type]


def write_index(data: IndexData, index_dir: Path) -> None:
    """Write into a fresh sibling folder, then swap it in, so readers never see half an index."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}-new-", dir=index_dir.parent))
    try:
        faiss.write_index(data.faiss_index, str(staging / "chunks.faiss"))
        np.save(staging / "sentences.npy", data.sentence_vectors)
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for chunk in data.chunks:
                out.write(json.dumps(_chunk_record(chunk), ensure_ascii=False) + "\n")
        documents = [asdict(document) for document in data.documents.values()]
        (staging / "documents.json").write_text(
            json.dumps(documents, ensure_ascii=False), encoding="utf-8"
        )
        # The manifest goes last: its presence marks a complete index.
        (staging / MANIFEST).write_text(json.dumps(asdict(data.manifest), indent=2) + "\n")
        _swap_in(staging, index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, index_dir: Path) -> None:
    if not index_dir.exists():
        os.replace(staging, index_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}-old-", dir=index_dir.parent))
    os.replace(index_dir, retired / "index")
    os.replace(staging, index_dir)
    shutil.rmtree(retired, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexMissingError(
            f"No index found in {index_dir}. Build it with 'peruqa index' (or 'make run')."
        )
    try:
        return Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise IndexCorruptError(
            f"The index manifest in {index_dir} is unreadable. Rebuild with 'peruqa index'."
        ) from exc


def load_index(index_dir: Path, model: str) -> IndexData:
    """Load an index, checking that it was built with ``model``."""
    manifest = read_manifest(index_dir)
    if manifest.model != model:
        raise IndexMismatchError(
            f"The index in {index_dir} was built with the model '{manifest.model}', but the "
            f"configured model is '{model}'. Rebuild with 'peruqa index', or set "
            f"PERUQA_MODEL={manifest.model}."
        )
    if manifest.format != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index in {index_dir} has an old format. Rebuild with 'peruqa index'."
        )
    try:
        faiss_index = faiss.read_index(str(index_dir / "chunks.faiss"))
        sentence_vectors = np.load(index_dir / "sentences.npy")
        with (index_dir / "chunks.jsonl").open(encoding="utf-8") as lines:
            chunks = [_chunk_from_record(json.loads(line)) for line in lines]
        records = json.loads((index_dir / "documents.json").read_text(encoding="utf-8"))
        documents = {}
        for record in records:
            record["page_starts"] = tuple(record.get("page_starts", ()))
            documents[record["doc_id"]] = Document(**record)
    except (OSError, RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(
            f"The index in {index_dir} is incomplete or damaged ({type(exc).__name__}). "
            "Rebuild with 'peruqa index'."
        ) from exc
    rows: dict[tuple[str, int], int] = {}
    for chunk in chunks:
        for sentence in chunk.sentences:
            rows.setdefault((chunk.doc_id, sentence.start), len(rows))
    if faiss_index.ntotal != len(chunks) or len(rows) != len(sentence_vectors):
        raise IndexCorruptError(
            f"The index in {index_dir} is inconsistent. Rebuild with 'peruqa index'."
        )
    return IndexData(manifest, faiss_index, chunks, documents, sentence_vectors, rows)


def stale_reason(index_dir: Path, source_dir: Path, model: str) -> str | None:
    """Why the index needs rebuilding, or None when it matches the sources and the model."""
    try:
        manifest = read_manifest(index_dir)
    except (IndexMissingError, IndexCorruptError) as exc:
        return exc.message
    if manifest.model != model:
        return f"it was built with '{manifest.model}', not '{model}'"
    if manifest.format != FORMAT_VERSION:
        return "its format is out of date"
    current = {
        path.relative_to(source_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in source_files(source_dir)
    }
    indexed = {**manifest.documents, **manifest.skipped}
    if set(current) - set(indexed):
        return "new source files: " + ", ".join(sorted(set(current) - set(indexed)))
    changed = sorted(path for path, digest in current.items() if indexed.get(path) != digest)
    if changed:
        return "changed source files: " + ", ".join(changed)
    removed = sorted(set(indexed) - set(current))
    if removed:
        return "removed source files: " + ", ".join(removed)
    return None
