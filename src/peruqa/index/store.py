"""The index on disk, read back: every file checked against its manifest, with retries
while a build swaps the folder (``writing`` writes, swaps and cleans up).

Layout of an index folder (format 3):
    manifest.json       model, dimension, chunking settings, document hashes, build id/time,
                        and a SHA-256 of each file below (checked at every load)
    chunks.faiss        inner-product index over normalised chunk vectors
    chunk_vectors.npy   the same chunk vectors, so the next build can reuse them
    sentences.npy       one normalised vector per distinct sentence, for answer scoring
    chunks.jsonl        one chunk per line, with its sentences and offsets
    documents.json      document metadata and text (for citations and the document view)
"""

from __future__ import annotations

import time
from pathlib import Path

import faiss
import numpy as np
from pydantic import TypeAdapter, ValidationError

from peruqa.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from peruqa.index.ann import set_ef_search

# The serving side (qa/, web/) imports these names from here; they live in data.py and
# manifest.py.
from peruqa.index.data import IndexData as IndexData
from peruqa.index.data import sentence_rows
from peruqa.index.lock import build_lock
from peruqa.index.manifest import FIRST_STAGE_DIR as FIRST_STAGE_DIR
from peruqa.index.manifest import FORMAT_VERSION, INDEX_FILES, Manifest, damage_reason, file_sha256
from peruqa.index.manifest import MANIFEST as MANIFEST
from peruqa.index.manifest import read_manifest as read_manifest
from peruqa.index.writing import remove_leftovers
from peruqa.ingest.chunking import Chunk, Sentence, collapse
from peruqa.ingest.documents import Document

# How far a vector's length may stray from 1: float32 rounding stays under 1e-6, while any
# flipped exponent bit or NaN is far outside.
NORM_TOLERANCE = 1e-3


class _Damaged(Exception):
    """One index file that cannot be used, and why (turned into ``IndexCorruptError``)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")


_CHUNK = TypeAdapter(Chunk)
_DOCUMENTS = TypeAdapter(list[Document])


def _read_vectors(path: Path) -> np.ndarray:
    try:
        vectors: np.ndarray = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several kinds for a damaged file
        raise _Damaged(path.name, damage_reason(exc)) from exc
    if not isinstance(vectors, np.ndarray):
        raise _Damaged(path.name, "not a single array")
    return vectors


def _read_chunks(path: Path) -> list[Chunk]:
    chunks = []
    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    chunks.append(_CHUNK.validate_json(line))
                except ValidationError as exc:
                    raise _Damaged(path.name, f"line {number}: {damage_reason(exc)}") from exc
    except OSError as exc:
        raise _Damaged(path.name, damage_reason(exc)) from exc
    return chunks


def _read_documents(path: Path) -> dict[str, Document]:
    try:
        records = _DOCUMENTS.validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise _Damaged(path.name, damage_reason(exc)) from exc
    return {document.doc_id: document for document in records}


def _read_faiss(path: Path) -> faiss.Index:
    if not path.is_file():
        raise _Damaged(path.name, "missing")
    try:
        return faiss.read_index(str(path))
    except Exception as exc:  # faiss reports every problem as RuntimeError (or worse)
        # Its messages are long C++ traces with source paths and ours: one line instead.
        raise _Damaged(path.name, "not an index FAISS can read (truncated or damaged)") from exc


def check_files(index_dir: Path, manifest: Manifest) -> None:
    """Every file is byte for byte what the build wrote: any flipped bit is caught here.
    (Public, like ``check_contents``, so ``make bench`` can time what the checks cost.)"""
    for name in INDEX_FILES:
        expected = manifest.files.get(name)
        if expected is None:
            raise _Damaged(MANIFEST, f"no checksum for {name}")
        path = index_dir / name
        try:
            actual = file_sha256(path)
        except FileNotFoundError as exc:
            raise _Damaged(name, "missing") from exc
        except OSError as exc:
            raise _Damaged(name, damage_reason(exc)) from exc
        if actual != expected:
            raise _Damaged(name, f"its SHA-256 differs from the one in {MANIFEST}")


def _check_norms(name: str, vectors: np.ndarray) -> None:
    """Rows are finite and of length 1 (within NORM_TOLERANCE): inner product is cosine, and
    a NaN or huge row would win or poison every search."""
    if not len(vectors):
        return
    # einsum keeps one float per row instead of a squared copy of the whole array.
    squares = np.einsum("ij,ij->i", vectors, vectors)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(squares) | (np.abs(np.sqrt(squares) - 1.0) > NORM_TOLERANCE)
    if bad.any():
        row = int(np.argmax(bad))
        what = "not finite" if not np.isfinite(squares[row]) else "not of length 1"
        raise _Damaged(name, f"vector {row} is {what}")


def _stored_vectors(index: faiss.Index) -> np.ndarray:
    """The vectors a FAISS index searches: a view of a flat index's (or HNSW's flat
    storage's) own array, so a large index is not copied to be checked."""
    storage = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    if not isinstance(storage, faiss.IndexFlat) or index.ntotal == 0:
        vectors: np.ndarray = index.reconstruct_n(0, index.ntotal)
        return vectors
    view = faiss.rev_swig_ptr(storage.get_xb(), index.ntotal * index.d)
    return np.asarray(view).reshape(index.ntotal, index.d)


def check_contents(
    faiss_index: faiss.Index,
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    chunks: list[Chunk],
    documents: dict[str, Document],
) -> None:
    """What the checksums cannot vouch for (an index built from bad data, or a manifest
    rewritten with its files): finite unit vectors, texts equal to their documents."""
    _check_norms("chunks.faiss", _stored_vectors(faiss_index))
    _check_norms("chunk_vectors.npy", chunk_vectors)
    _check_norms("sentences.npy", sentence_vectors)
    _check_texts(chunks, documents)


def _read_parts(index_dir: Path, manifest: Manifest) -> IndexData:
    """Every file of the index, checked; any damage is an ``IndexCorruptError`` naming the
    file and the reason, whatever the damage (nulls, wrong types, bad UTF-8, truncation)."""
    try:
        check_files(index_dir, manifest)
        faiss_index = _read_faiss(index_dir / "chunks.faiss")
        chunk_vectors = _read_vectors(index_dir / "chunk_vectors.npy")
        sentence_vectors = _read_vectors(index_dir / "sentences.npy")
        chunks = _read_chunks(index_dir / "chunks.jsonl")
        documents = _read_documents(index_dir / "documents.json")
        rows = sentence_rows(chunks)
        _check_shapes(manifest, faiss_index, chunk_vectors, sentence_vectors, chunks, rows)
        check_contents(faiss_index, chunk_vectors, sentence_vectors, chunks, documents)
    except _Damaged as exc:
        raise IndexCorruptError(
            f"The index in {index_dir} is damaged ({exc}). "
            "Rebuild with 'peruqa index' (it sets the damaged copy aside)."
        ) from exc
    return IndexData(
        manifest, faiss_index, chunks, documents, sentence_vectors, rows, chunk_vectors
    )


def _check_texts(chunks: list[Chunk], documents: dict[str, Document]) -> None:
    """Every chunk and sentence is its document's text at its offsets: answers quote the
    sentence texts and citations slice the document with the offsets, so both must agree."""
    for number, chunk in enumerate(chunks, 1):
        document = documents.get(chunk.doc_id)
        if document is None:
            raise _Damaged("chunks.jsonl", f"line {number}: unknown document '{chunk.doc_id}'")
        text = document.text
        size = len(text)
        parts: tuple[Chunk | Sentence, ...] = (chunk, *chunk.sentences)
        for part in parts:
            if not 0 <= part.start <= part.end <= size:
                raise _Damaged("chunks.jsonl", f"line {number}: offsets outside the document")
            raw = text[part.start : part.end]
            # Most spans hold no run of whitespace: compare before collapsing.
            if raw != part.text and collapse(raw) != part.text:
                raise _Damaged("chunks.jsonl", f"line {number}: text differs from the document")


def _check_shapes(
    manifest: Manifest,
    faiss_index: faiss.Index,
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    chunks: list[Chunk],
    rows: dict[tuple[str, int], int],
) -> None:
    """What does not fit between the manifest and the files, checked once at load so that a
    damaged index is refused up front instead of failing on the first question."""
    # chunks.jsonl first: the vector files are measured against its length.
    if manifest.chunks != len(chunks) or manifest.sentences != len(rows):
        raise _Damaged(
            "chunks.jsonl",
            f"{len(chunks)} chunks and {len(rows)} sentences, {MANIFEST} says "
            f"{manifest.chunks} and {manifest.sentences}",
        )
    if faiss_index.d != manifest.dim:
        raise _Damaged(
            "chunks.faiss", f"{faiss_index.d} dimensions, {MANIFEST} says {manifest.dim}"
        )
    for name, vectors, count in (
        ("chunk_vectors.npy", chunk_vectors, len(chunks)),
        ("sentences.npy", sentence_vectors, len(rows)),
    ):
        kind = "chunk" if name.startswith("chunk") else "sentence"
        if vectors.ndim != 2 or vectors.shape != (count, manifest.dim):
            raise _Damaged(
                name, f"{kind} vectors are {vectors.shape}, expected ({count}, {manifest.dim})"
            )
        if vectors.dtype != np.float32:
            raise _Damaged(name, f"{kind} vectors are {vectors.dtype}, expected float32")
    if faiss_index.ntotal != len(chunks):
        raise _Damaged(
            "chunks.faiss", f"holds {faiss_index.ntotal} chunks, chunks.jsonl {len(chunks)}"
        )


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


def load_index(index_dir: Path, model: str | None, ef_search: int | None = None) -> IndexData:
    """Load an index, checking that it was built with ``model`` (any model when None).

    ``ef_search`` (PERUQA_HNSW_EF_SEARCH) applies to an HNSW index at load time, so changing
    it needs no rebuild."""
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
            if ef_search is not None:
                set_ef_search(data.faiss_index, ef_search)
            return data
    raise IndexCorruptError(
        f"The index in {index_dir} kept changing while loading. Try again in a moment."
    )
