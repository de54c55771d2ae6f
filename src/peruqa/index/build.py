"""Building the index from the source folder: read, plan, embed what changed, switch, report.

A build never touches the serving index until the very end: it holds the build lock, writes
a complete new folder beside the old one, runs the optional quality gate, and only then
swaps the folders. Any failure before the swap leaves the previous index as it was.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from peruqa.errors import BuildRefusedError, NoDocumentsError, PeruQAError
from peruqa.index.embedding import Embedder
from peruqa.index.lock import build_lock
from peruqa.index.store import (
    FIRST_STAGE_DIR,
    FORMAT_VERSION,
    IndexData,
    Progress,
    build_index_data,
    load_index,
    read_manifest,
    remove_leftovers,
    stage_index,
    swap_in,
    vector_cache_from,
    write_parts,
)
from peruqa.index.vector_cache import VectorCache
from peruqa.ingest.chunking import CHUNKER_VERSION
from peruqa.ingest.documents import (
    DEFAULT_MAX_FILE_MB,
    Document,
    Duplicate,
    SkippedFile,
    load_documents,
)

# Called with (new index, current index or None) before the switch; raises to refuse it.
Gate = Callable[[IndexData, IndexData | None], None]


@dataclass
class BuildReport:
    documents: int
    chunks: int
    sentences: int
    seconds: float
    model: str
    skipped: list[SkippedFile] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Chunks per category: added/changed count the new chunks, removed the dropped ones.
    chunk_counts: dict[str, int] = field(default_factory=dict)
    embedded: int = 0  # texts (chunks + sentences) sent to the model this time
    reused: int = 0  # texts whose vectors came from the previous index
    full_rebuild: str | None = None  # why nothing could be reused, when that was the case
    first_stage_embedded: int | None = None  # texts the cascade's fast model embedded

    def problems(self) -> list[str]:
        lines = [f"{item.source}: {item.reason}" for item in self.skipped]
        lines += [f"{item.source}: duplicate of {item.same_as}" for item in self.duplicates]
        return lines


def _previous_index(
    index_dir: Path, embedder: Embedder, chunk_max_chars: int, overlap: int
) -> tuple[IndexData | None, str | None]:
    """The current index if its vectors can be reused, else None and why not."""
    try:
        manifest = read_manifest(index_dir)
    except PeruQAError:
        return None, None if not index_dir.exists() else "the current index is unreadable"
    if manifest.format != FORMAT_VERSION:
        return None, f"the index format changed ({manifest.format} -> {FORMAT_VERSION})"
    if manifest.model != embedder.name or manifest.dim != embedder.dim:
        before, after = f"{manifest.model}/{manifest.dim}d", f"{embedder.name}/{embedder.dim}d"
        return None, f"the model changed ({before} -> {after})"
    if (manifest.chunk_max_chars, manifest.chunk_overlap) != (chunk_max_chars, overlap):
        return None, "the chunking settings changed"
    if manifest.chunker != CHUNKER_VERSION:
        return None, "the chunking rules changed"
    try:
        return load_index(index_dir, embedder.name), None
    except PeruQAError as error:
        return None, f"the current index could not be loaded ({error.message})"


def _stage_first(
    embedder: Embedder,
    documents: list[Document],
    index_dir: Path,
    staging: Path,
    main: IndexData,
    full: bool,
) -> int:
    """Embed the main index's chunks with the first-stage model into ``staging``; returns
    how many texts it embedded (unchanged ones reuse the current first-stage vectors)."""
    manifest = main.manifest
    previous, _ = _previous_index(
        index_dir / FIRST_STAGE_DIR, embedder, manifest.chunk_max_chars, manifest.chunk_overlap
    )
    cache = (
        vector_cache_from(previous)
        if previous is not None and not full
        else VectorCache(embedder.dim)
    )
    data = build_index_data(
        documents,
        embedder,
        manifest.chunk_max_chars,
        manifest.chunk_overlap,
        skipped=manifest.skipped,
        cache=cache,
        problems=manifest.problems,
        index_type=manifest.index_type,
    )
    write_parts(data, staging / FIRST_STAGE_DIR)
    return cache.embedded


def _indexed_hashes(index_dir: Path) -> dict[str, str]:
    try:
        return read_manifest(index_dir).documents
    except PeruQAError:
        return {}


def _fill_changes(
    report: BuildReport, new: IndexData, old: IndexData | None, old_hashes: dict[str, str]
) -> None:
    old_counts: dict[str, int] = {}
    if old is not None:
        by_source = {doc.doc_id: doc.source for doc in old.documents.values()}
        for doc_id, count in old.chunk_counts().items():
            old_counts[by_source[doc_id]] = count
    new_counts = {new.documents[i].source: n for i, n in new.chunk_counts().items()}
    counts = dict.fromkeys(("added", "changed", "removed", "unchanged"), 0)
    for source, digest in new.manifest.documents.items():
        kind = (
            "added"
            if source not in old_hashes
            else "unchanged"
            if old_hashes[source] == digest
            else "changed"
        )
        getattr(report, kind).append(source)
        counts[kind] += new_counts.get(source, 0)
    for source in sorted(set(old_hashes) - set(new.manifest.documents)):
        report.removed.append(source)
        counts["removed"] += old_counts.get(source, 0)
    report.chunk_counts = counts


def build(
    source_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunk_max_chars: int = 700,
    overlap: int = 1,
    progress: Progress | None = None,
    *,
    strict: bool = False,
    full: bool = False,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
    gate: Gate | None = None,
    lock_timeout_s: float = 10.0,
    index_type: str = "flat",
    first_stage: Embedder | None = None,
) -> BuildReport:
    """Build (or update) the index in ``index_dir`` from ``source_dir``.

    Unchanged documents keep their vectors; ``full`` re-embeds everything. With ``strict``,
    any skipped file or duplicate refuses the build and the current index stays. With
    ``first_stage``, the same chunks are also embedded with that (fast) model into the
    ``first-stage`` folder the cascade answers from first.
    """
    if not source_dir.is_dir():
        raise NoDocumentsError(f"The source folder {source_dir} does not exist.")
    started = time.perf_counter()
    with build_lock(index_dir, lock_timeout_s):
        remove_leftovers(index_dir)
        loaded = load_documents(source_dir, max_file_mb)
        report = BuildReport(0, 0, 0, 0.0, embedder.name, loaded.skipped, loaded.duplicates)
        if strict and report.problems():
            raise BuildRefusedError(
                "Strict mode: the index was not rebuilt because of these files:\n  "
                + "\n  ".join(report.problems())
            )
        if not loaded.documents:
            raise NoDocumentsError(
                f"No readable documents in {source_dir}. Add .md, .txt, .html, .pdf or .docx "
                "files and try again."
            )
        previous, reason = _previous_index(index_dir, embedder, chunk_max_chars, overlap)
        old_hashes = _indexed_hashes(index_dir)
        if full and previous is not None:
            reason = "a full rebuild was asked for"
        cache = (
            vector_cache_from(previous)
            if previous is not None and not full
            else VectorCache(embedder.dim)
        )
        report.full_rebuild = reason
        not_indexed = {item.source for item in loaded.skipped}
        not_indexed |= {item.source for item in loaded.duplicates}
        problems = {item.source: item.reason for item in loaded.skipped}
        problems |= {item.source: f"duplicate of {item.same_as}" for item in loaded.duplicates}
        data = build_index_data(
            loaded.documents,
            embedder,
            chunk_max_chars,
            overlap,
            progress,
            skipped={source: loaded.fingerprints[source] for source in not_indexed},
            cache=cache,
            problems=problems,
            index_type=index_type,
        )
        staging = stage_index(data, index_dir)
        try:
            if first_stage is not None:
                report.first_stage_embedded = _stage_first(
                    first_stage, loaded.documents, index_dir, staging, data, full
                )
            if gate is not None:
                gate(data, previous)
            swap_in(staging, index_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _fill_changes(report, data, previous, old_hashes)
    report.documents = len(loaded.documents)
    report.chunks = data.manifest.chunks
    report.sentences = data.manifest.sentences
    report.embedded = cache.embedded
    report.reused = max(report.chunks + report.sentences - cache.embedded, 0)
    report.seconds = time.perf_counter() - started
    return report
