"""The index on disk: FAISS vectors for chunks, sentence vectors for answers, and a manifest.

Layout of an index folder (format 2):
    manifest.json       model, dimension, chunking settings, document hashes, build id/time
    chunks.faiss        inner-product index over normalised chunk vectors
    chunk_vectors.npy   the same chunk vectors, so the next build can reuse them
    sentences.npy       one normalised vector per distinct sentence, for answer scoring
    chunks.jsonl        one chunk per line, with its sentences and offsets
    documents.json      document metadata and text (for citations and the document view)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np
from pydantic import TypeAdapter, ValidationError

from peruqa import __version__
from peruqa.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)
from peruqa.index.ann import make_faiss_index
from peruqa.index.embedding import Embedder
from peruqa.index.lock import build_lock

# Progress is re-exported: the CLI and build pass progress callbacks through this module.
from peruqa.index.vector_cache import Progress as Progress
from peruqa.index.vector_cache import VectorCache
from peruqa.ingest.chunking import CHUNKER_VERSION, Chunk, Sentence, chunk_document
from peruqa.ingest.documents import Document

MANIFEST = "manifest.json"
# The fast model's index for the cascade lives inside the main one, so both swap together.
FIRST_STAGE_DIR = "first-stage"
FORMAT_VERSION = 2
_STAGING_PREFIX = "-new-"
_RETIRED_PREFIX = "-old-"


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    documents: dict[str, str]  # source path -> fingerprint of the file (and its sidecar)
    built_at: str
    version: str
    chunks: int
    sentences: int
    chunk_max_chars: int
    # Files that were not indexed (unreadable or duplicates), with their fingerprints, so
    # they don't count as new each time; ``problems`` says why.
    skipped: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT_VERSION
    chunk_overlap: int = 1
    problems: dict[str, str] = field(default_factory=dict)
    # Changes with every build; a reader compares it before and after loading.
    build_id: str = ""
    index_type: str = "flat"
    chunker: int = 1  # chunking.CHUNKER_VERSION of the rules that split the documents


_MANIFEST_SCHEMA = TypeAdapter(Manifest)


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


def new_vector_index(dim: int, vectors: np.ndarray, kind: str = "flat") -> faiss.Index:
    """The one place the FAISS index is created: exact ("flat") or approximate ("hnsw")
    inner product over unit vectors."""
    index = make_faiss_index(kind, dim)
    if len(vectors):
        index.add(vectors)
    return index


def _sentence_rows(chunks: Sequence[Chunk]) -> dict[tuple[str, int], int]:
    """Row of each distinct sentence, in first-seen order (overlapping chunks share some)."""
    rows: dict[tuple[str, int], int] = {}
    for chunk in chunks:
        for sentence in chunk.sentences:
            rows.setdefault((chunk.doc_id, sentence.start), len(rows))
    return rows


def _chunk_texts(chunks: Sequence[Chunk], documents: dict[str, Document]) -> list[str]:
    return [chunk_embedding_text(documents[chunk.doc_id], chunk) for chunk in chunks]


def _sentence_texts(
    chunks: Sequence[Chunk], documents: dict[str, Document], rows: dict[tuple[str, int], int]
) -> list[str]:
    """The embedded text of each distinct sentence, in row order."""
    texts = [""] * len(rows)
    for chunk in chunks:
        for sentence in chunk.sentences:
            text = sentence_embedding_text(documents[chunk.doc_id], sentence)
            texts[rows[(chunk.doc_id, sentence.start)]] = text
    return texts


def vector_cache_from(data: IndexData) -> VectorCache:
    """Every text the index embedded, with its vector, for reuse by the next build."""
    cache = VectorCache(data.manifest.dim)
    if data.chunk_vectors is not None:
        cache.add(_chunk_texts(data.chunks, data.documents), data.chunk_vectors)
    texts = _sentence_texts(data.chunks, data.documents, data.sentence_rows)
    cache.add(texts, data.sentence_vectors)
    return cache


def build_index_data(
    documents: Sequence[Document],
    embedder: Embedder,
    chunk_max_chars: int = 700,
    overlap: int = 1,
    progress: Progress | None = None,
    skipped: dict[str, str] | None = None,
    cache: VectorCache | None = None,
    problems: dict[str, str] | None = None,
    index_type: str = "flat",
) -> IndexData:
    """Chunk and embed ``documents``; texts already in ``cache`` are not embedded again."""
    cache = cache if cache is not None else VectorCache(embedder.dim)
    by_id = {document.doc_id: document for document in documents}
    chunks: list[Chunk] = []
    for document in documents:
        chunks.extend(chunk_document(document, chunk_max_chars, overlap))
    rows = _sentence_rows(chunks)
    sentence_texts = _sentence_texts(chunks, by_id, rows)
    chunk_texts = _chunk_texts(chunks, by_id)
    cache.embed_missing(embedder, chunk_texts + sentence_texts, progress)
    chunk_vectors = cache.lookup(chunk_texts)
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
        chunk_overlap=overlap,
        problems=dict(problems or {}),
        build_id=uuid.uuid4().hex,
        index_type=index_type,
        chunker=CHUNKER_VERSION,
    )
    return IndexData(
        manifest,
        new_vector_index(embedder.dim, chunk_vectors, index_type),
        chunks,
        by_id,
        cache.lookup(sentence_texts),
        rows,
        chunk_vectors,
    )


def _chunk_from_record(record: dict[str, object]) -> Chunk:
    sentences = tuple(Sentence(**s) for s in record.pop("sentences"))  # type: ignore[attr-defined]
    return Chunk(sentences=sentences, **record)  # type: ignore[arg-type]


def _write_synced(path: Path, payload: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(payload)
        out.flush()
        os.fsync(out.fileno())


def stage_index(data: IndexData, index_dir: Path) -> Path:
    """Write ``data`` into a fresh hidden folder beside ``index_dir`` and return it."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{index_dir.name}{_STAGING_PREFIX}"
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=index_dir.parent))
    try:
        # mkdtemp makes the folder private; a server running as another user must read it.
        staging.chmod(0o755)
        write_parts(data, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def write_parts(data: IndexData, staging: Path) -> None:
    """Write every file of an index into ``staging`` (an existing or new folder)."""
    staging.mkdir(parents=True, exist_ok=True)
    faiss.write_index(data.faiss_index, str(staging / "chunks.faiss"))
    chunk_vectors = data.chunk_vectors
    if chunk_vectors is None:
        chunk_vectors = data.faiss_index.reconstruct_n(0, data.faiss_index.ntotal)
    np.save(staging / "chunk_vectors.npy", chunk_vectors)
    np.save(staging / "sentences.npy", data.sentence_vectors)
    lines = "".join(json.dumps(asdict(chunk), ensure_ascii=False) + "\n" for chunk in data.chunks)
    _write_synced(staging / "chunks.jsonl", lines)
    documents = [asdict(document) for document in data.documents.values()]
    _write_synced(staging / "documents.json", json.dumps(documents, ensure_ascii=False))
    # The manifest goes last: its presence marks a complete index.
    _write_synced(staging / MANIFEST, json.dumps(asdict(data.manifest), indent=2) + "\n")


def swap_in(staging: Path, index_dir: Path) -> None:
    """Replace ``index_dir`` by ``staging`` with two renames; the old folder is deleted."""
    if not index_dir.exists():
        os.replace(staging, index_dir)
        return
    prefix = f".{index_dir.name}{_RETIRED_PREFIX}"
    retired = Path(tempfile.mkdtemp(prefix=prefix, dir=index_dir.parent))
    os.replace(index_dir, retired / "index")
    os.replace(staging, index_dir)
    shutil.rmtree(retired, ignore_errors=True)


def write_index(data: IndexData, index_dir: Path) -> None:
    """Write into a fresh sibling folder, then swap it in, so readers never see half an index."""
    staging = stage_index(data, index_dir)
    try:
        swap_in(staging, index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _complete_leftover(index_dir: Path) -> Path | None:
    """A complete index an interrupted swap left beside ``index_dir``: the new one first (it
    had passed the gate when the swap began), else the retired one."""
    staged = sorted(index_dir.parent.glob(f".{index_dir.name}{_STAGING_PREFIX}*/{MANIFEST}"))
    retired = sorted(index_dir.parent.glob(f".{index_dir.name}{_RETIRED_PREFIX}*/index/{MANIFEST}"))
    leftovers = staged + retired
    return leftovers[0].parent if leftovers else None


def remove_leftovers(index_dir: Path) -> None:
    """Delete what an interrupted build left behind (call under the build lock).

    A build killed between the two renames of a swap leaves no ``index_dir`` at all, but a
    complete copy beside it: that copy is put back first, so there is always an index to
    serve and the next build can reuse its vectors.
    """
    if not index_dir.parent.is_dir():
        return
    if not (index_dir / MANIFEST).is_file():
        leftover = _complete_leftover(index_dir)
        if leftover is not None:
            if index_dir.exists():
                shutil.rmtree(index_dir)
            os.replace(leftover, index_dir)
    for prefix in (_STAGING_PREFIX, _RETIRED_PREFIX):
        for path in index_dir.parent.glob(f".{index_dir.name}{prefix}*"):
            shutil.rmtree(path, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexMissingError(
            f"No index found in {index_dir}. Build it with 'peruqa index' (or 'make run')."
        )
    try:
        # Validated, not just unpacked: a hand-edited "dim": "384" must not reach a 500 later.
        return _MANIFEST_SCHEMA.validate_json(path.read_bytes())
    except (ValidationError, ValueError, TypeError, OSError) as exc:
        raise IndexCorruptError(
            f"The index manifest in {index_dir} is unreadable. Rebuild with 'peruqa index'."
        ) from exc


def _read_parts(index_dir: Path, manifest: Manifest) -> IndexData:
    try:
        faiss_index = faiss.read_index(str(index_dir / "chunks.faiss"))
        chunk_vectors = np.load(index_dir / "chunk_vectors.npy")
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
    rows = _sentence_rows(chunks)
    problem = _shape_problem(manifest, faiss_index, chunk_vectors, sentence_vectors, chunks, rows)
    if problem:
        raise IndexCorruptError(
            f"The index in {index_dir} is inconsistent ({problem}). Rebuild with 'peruqa index'."
        )
    return IndexData(
        manifest, faiss_index, chunks, documents, sentence_vectors, rows, chunk_vectors
    )


def _shape_problem(
    manifest: Manifest,
    faiss_index: faiss.Index,
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    chunks: list[Chunk],
    rows: dict[tuple[str, int], int],
) -> str | None:
    """What does not fit between the manifest and the files, checked once at load so that a
    damaged index is refused up front instead of failing on the first question."""
    if faiss_index.d != manifest.dim:
        return f"vector index has {faiss_index.d} dimensions, manifest says {manifest.dim}"
    for name, vectors, count in (
        ("chunk", chunk_vectors, len(chunks)),
        ("sentence", sentence_vectors, len(rows)),
    ):
        if vectors.ndim != 2 or vectors.shape != (count, manifest.dim):
            return f"{name} vectors are {vectors.shape}, expected ({count}, {manifest.dim})"
        if vectors.dtype != np.float32:
            return f"{name} vectors are {vectors.dtype}, expected float32"
    if faiss_index.ntotal != len(chunks):
        return f"vector index holds {faiss_index.ntotal} chunks, chunks.jsonl {len(chunks)}"
    if manifest.chunks != len(chunks) or manifest.sentences != len(rows):
        return "chunk or sentence counts differ from the manifest"
    return None


def _manifest_now(index_dir: Path) -> Manifest:
    """The manifest, waiting out the instant between the two renames of a swap, and putting
    back the copy a build left when it died in that instant."""
    for _attempt in range(20):
        try:
            return read_manifest(index_dir)
        except IndexMissingError:
            if not index_dir.parent.is_dir():
                raise
            time.sleep(0.01)
    _heal(index_dir)
    return read_manifest(index_dir)


def _heal(index_dir: Path) -> None:
    """Recover a swap a dead build left half done, unless a live build holds the lock (it
    recovers by itself when it starts)."""
    try:
        with build_lock(index_dir, timeout_s=0):
            remove_leftovers(index_dir)
    except (IndexBusyError, OSError):
        pass  # a live build, or a folder this process may not write: nothing to heal here


def load_index(index_dir: Path, model: str | None) -> IndexData:
    """Load an index, checking that it was built with ``model`` (any model when None)."""
    for _attempt in range(3):
        manifest = _manifest_now(index_dir)
        if model is not None and manifest.model != model:
            raise IndexMismatchError(
                f"The index in {index_dir} was built with the model '{manifest.model}', but "
                f"the configured model is '{model}'. Rebuild with 'peruqa index', or set "
                f"PERUQA_MODEL={manifest.model}."
            )
        if manifest.format != FORMAT_VERSION:
            raise IndexMismatchError(
                f"The index in {index_dir} has an old format. Rebuild with 'peruqa index'."
            )
        try:
            data = _read_parts(index_dir, manifest)
        except IndexCorruptError:
            # A build may have swapped the folder while we read it; look again.
            if _manifest_now(index_dir).build_id == manifest.build_id:
                raise
            continue
        if _manifest_now(index_dir).build_id == manifest.build_id:
            return data
    raise IndexCorruptError(
        f"The index in {index_dir} kept changing while loading. Try again in a moment."
    )
