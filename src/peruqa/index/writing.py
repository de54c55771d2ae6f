"""Writing an index: a complete new folder beside the serving one, swapped in with two
renames, and the clean-up after a build that died half way (``store`` reads it back)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import faiss
import numpy as np

from peruqa.index.data import IndexData
from peruqa.index.manifest import INDEX_FILES, MANIFEST, file_sha256

_STAGING_PREFIX = "-new-"
_RETIRED_PREFIX = "-old-"


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
    """Write every file of an index into ``staging`` (an existing or new folder), then the
    manifest with the checksum of each file as written; ``data.manifest`` gets them too."""
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
    # Hashed from disk, after every file is complete: what a load checks is what is there.
    data.manifest = replace(
        data.manifest, files={name: file_sha256(staging / name) for name in INDEX_FILES}
    )
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


def set_aside_damaged(index_dir: Path) -> Path:
    """Move a damaged index out of the way, beside it as ``<name>.corrupt-<UTC time>``, so a
    build can replace it and a maintainer can still look at what went wrong."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = index_dir.with_name(f"{index_dir.name}.corrupt-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = index_dir.with_name(f"{index_dir.name}.corrupt-{stamp}-{number}")
    os.replace(index_dir, target)
    return target


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
