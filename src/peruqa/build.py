"""Building the index from the source folder: read, chunk, embed, write, report."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from peruqa.documents import SkippedFile, load_documents
from peruqa.embedding import Embedder
from peruqa.errors import NoDocumentsError
from peruqa.index import Progress, build_index_data, write_index


@dataclass
class BuildReport:
    documents: int
    chunks: int
    sentences: int
    seconds: float
    model: str
    skipped: list[SkippedFile] = field(default_factory=list)


def build(
    source_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunk_max_chars: int = 700,
    overlap: int = 1,
    progress: Progress | None = None,
) -> BuildReport:
    if not source_dir.is_dir():
        raise NoDocumentsError(f"The source folder {source_dir} does not exist.")
    started = time.perf_counter()
    loaded = load_documents(source_dir)
    if not loaded.documents:
        raise NoDocumentsError(
            f"No readable documents in {source_dir}. Add .md or .txt files and try again."
        )
    skipped_hashes = {
        item.source: hashlib.sha256((source_dir / item.source).read_bytes()).hexdigest()
        for item in loaded.skipped
        if (source_dir / item.source).is_file()
    }
    data = build_index_data(
        loaded.documents, embedder, chunk_max_chars, overlap, progress, skipped_hashes
    )
    write_index(data, index_dir)
    return BuildReport(
        documents=len(loaded.documents),
        chunks=data.manifest.chunks,
        sentences=data.manifest.sentences,
        seconds=time.perf_counter() - started,
        model=embedder.name,
        skipped=loaded.skipped,
    )
