"""The index on disk: atomic write, swap and cleanup, and loading with retries.

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
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np

from peruqa.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)
from peruqa.index.ann import set_ef_search

# The serving side (qa/, web/) imports these names from here; they live in data.py and
# manifest.py.
from peruqa.index.data import IndexData as IndexData
from peruqa.index.data import sentence_rows
from peruqa.index.lock import build_lock
from peruqa.index.manifest import FIRST_STAGE_DIR as FIRST_STAGE_DIR
from peruqa.index.manifest import FORMAT_VERSION, Manifest
from peruqa.index.manifest import MANIFEST as MANIFEST
from peruqa.index.manifest import read_manifest as read_manifest
from peruqa.ingest.chunking import Chunk, Sentence
from peruqa.ingest.documents import Document

_STAGING_PREFIX = "-new-"
_RETIRED_PREFIX = "-old-"


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
            for name in ("page_starts", "ocr_pages", "unreadable_pages"):
                record[name] = tuple(record.get(name, ()))
            documents[record["doc_id"]] = Document(**record)
    except (OSError, RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(
            f"The index in {index_dir} is incomplete or damaged ({type(exc).__name__}). "
            "Rebuild with 'peruqa index'."
        ) from exc
    rows = sentence_rows(chunks)
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
