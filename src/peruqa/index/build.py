"""Building the index from the source folder: read, chunk, embed what changed, switch, report.

A build never touches the serving index until the very end: it holds the build lock, writes
a complete new folder beside the old one, runs the optional quality gate, and only then
swaps the folders. Any failure before the swap leaves the previous index as it was.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peruqa.config import Settings
from peruqa.errors import BuildRefusedError, NoDocumentsError
from peruqa.index.build_report import BuildReport, chunk_counts
from peruqa.index.current import CurrentIndex
from peruqa.index.data import ChunkedLibrary, IndexData, Served, index_data_from
from peruqa.index.embed_pool import EmbedJob, embed_jobs
from peruqa.index.embedding import Embedder
from peruqa.index.lock import build_lock
from peruqa.index.manifest import FIRST_STAGE_DIR, diff_sources, first_stage_settings
from peruqa.index.progress import (
    CHUNKING,
    GATE,
    READING,
    WRITING,
    StageProgress,
    embedding_stage,
    for_stage,
)
from peruqa.index.vector_cache import VectorCache
from peruqa.index.writing import (
    remove_leftovers,
    set_aside_damaged,
    stage_index,
    swap_in,
    write_parts,
)
from peruqa.ingest.documents import Document, LoadReport, load_documents

# Called with (new index, current index or None), each with its cascade's first stage as
# served, before the switch; raises to refuse it.
Gate = Callable[[Served, Served | None], None]


def _silent(done: int, total: int) -> None:
    """Progress nobody listens to."""


def _job(
    library: ChunkedLibrary,
    embedder: Embedder,
    cache: VectorCache,
    settings: Settings,
    progress: StageProgress | None,
) -> EmbedJob:
    stage = for_stage(progress, embedding_stage(embedder.name))
    return EmbedJob(embedder, cache, library.texts(settings.chunk_vectors), stage)


def _read(
    settings: Settings, progress: StageProgress | None, known: dict[str, Document]
) -> LoadReport:
    stage = for_stage(progress, READING)
    return load_documents(settings.source_dir, settings.max_file_mb, stage, known)


def _chunk(
    loaded: LoadReport, settings: Settings, progress: StageProgress | None
) -> ChunkedLibrary:
    library = ChunkedLibrary()
    total = len(loaded.documents)
    report = for_stage(progress, CHUNKING) or _silent
    report(0, total)
    for number, document in enumerate(loaded.documents, 1):
        library.add(document, settings.chunk_max_chars, settings.chunk_overlap_sentences)
        report(number, total)
    return library


def _check_loaded(loaded: LoadReport, settings: Settings, strict: bool) -> None:
    problems = [f"{item.source}: {item.reason}" for item in loaded.skipped]
    problems += [f"{item.source}: duplicate of {item.same_as}" for item in loaded.duplicates]
    if strict and problems:
        raise BuildRefusedError(
            "Strict mode: the index was not rebuilt because of these files:\n  "
            + "\n  ".join(problems)
        )
    if not loaded.documents:
        raise NoDocumentsError(
            f"No readable documents in {settings.source_dir}. Add .md, .txt, .html, .pdf or "
            ".docx files and try again."
        )


@dataclass
class _Embedded:
    """The library's vectors for the main model and, when asked for, the first stage's."""

    cache: VectorCache
    previous: IndexData | None  # the current index, when its vectors could be reused
    reason: str | None  # why everything was embedded again, when it was
    first_cache: VectorCache | None = None
    first_previous: IndexData | None = None  # the current first stage, when reusable


def _embed(
    library: ChunkedLibrary,
    current: CurrentIndex,
    settings: Settings,
    embedder: Embedder,
    first_stage: Embedder | None,
    progress: StageProgress | None,
    full: bool,
) -> _Embedded:
    cache, previous, reason = current.reusable(settings, embedder, full)
    jobs = [_job(library, embedder, cache, settings, progress)]
    first_cache: VectorCache | None = None
    first_previous: IndexData | None = None
    if first_stage is not None:
        fast = first_stage_settings(settings)
        first_current = CurrentIndex.load(settings.index_dir / FIRST_STAGE_DIR)
        first_cache, first_previous, _ = first_current.reusable(fast, first_stage, full)
        jobs.append(_job(library, first_stage, first_cache, fast, progress))
    # Both models in one pool: the fast one fills the cores while the main one finishes.
    embed_jobs(jobs, settings.build_processes)
    return _Embedded(cache, previous, reason, first_cache, first_previous)


def _assemble(
    library: ChunkedLibrary,
    loaded: LoadReport,
    embedded: _Embedded,
    settings: Settings,
    embedder: Embedder,
) -> IndexData:
    """The new index in memory, with the files left out and why."""
    not_indexed = {item.source for item in loaded.skipped}
    not_indexed |= {item.source for item in loaded.duplicates}
    problems = {item.source: item.reason for item in loaded.skipped}
    problems |= {item.source: f"duplicate of {item.same_as}" for item in loaded.duplicates}
    return index_data_from(
        library,
        embedder,
        settings,
        embedded.cache,
        skipped={source: loaded.fingerprints[source] for source in not_indexed},
        problems=problems,
    )


def _write_and_swap(
    data: IndexData,
    library: ChunkedLibrary,
    embedded: _Embedded,
    settings: Settings,
    first_stage: Embedder | None,
    progress: StageProgress | None,
    gate: Gate | None,
    corrupt: bool,
) -> Path | None:
    """Write the new index beside the current one, check it, and swap it in: all or nothing.
    A ``corrupt`` current index is set aside rather than replaced; returns where it went."""
    set_aside: Path | None = None
    index_dir = settings.index_dir
    writing = for_stage(progress, WRITING) or _silent
    parts = 1 if embedded.first_cache is None else 2
    writing(0, parts)
    staging = stage_index(data, index_dir)
    try:
        writing(1, parts)
        first: IndexData | None = None
        if first_stage is not None and embedded.first_cache is not None:
            fast = first_stage_settings(settings)
            first = index_data_from(library, first_stage, fast, embedded.first_cache)
            write_parts(first, staging / FIRST_STAGE_DIR)
            writing(2, parts)
        if gate is not None:
            checking = for_stage(progress, GATE) or _silent
            checking(0, 1)
            previous = embedded.previous
            current = None if previous is None else Served(previous, embedded.first_previous)
            gate(Served(data, first), current)
            checking(1, 1)
        if corrupt:
            set_aside = set_aside_damaged(index_dir)
        swap_in(staging, index_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return set_aside


def build(
    settings: Settings,
    embedder: Embedder,
    progress: StageProgress | None = None,
    *,
    strict: bool = False,
    full: bool = False,
    gate: Gate | None = None,
    first_stage: Embedder | None = None,
) -> BuildReport:
    """Build (or update) the index in ``settings.index_dir`` from ``settings.source_dir``.

    Unchanged texts keep their vectors; ``full`` re-embeds everything. With ``strict``,
    any skipped file or duplicate refuses the build and the current index stays. With
    ``first_stage``, the same chunks are also embedded with that (fast) model into the
    ``first-stage`` folder the cascade answers from first.
    """
    source_dir, index_dir = settings.source_dir, settings.index_dir
    if not source_dir.is_dir():
        raise NoDocumentsError(f"The source folder {source_dir} does not exist.")
    started = time.perf_counter()
    with build_lock(index_dir, settings.index_lock_timeout_s):
        remove_leftovers(index_dir)
        current = CurrentIndex.load(index_dir)
        old_documents = current.data.manifest.documents if current.data is not None else {}
        loaded = _read(settings, progress, {} if full else current.documents())
        _check_loaded(loaded, settings, strict)
        library = _chunk(loaded, settings, progress)
        embedded = _embed(library, current, settings, embedder, first_stage, progress, full)
        data = _assemble(library, loaded, embedded, settings, embedder)
        set_aside = _write_and_swap(
            data, library, embedded, settings, first_stage, progress, gate, current.corrupt
        )
    changes = diff_sources(old_documents, data.manifest.documents)
    first_cache = embedded.first_cache
    return BuildReport(
        documents=len(loaded.documents),
        chunks=data.manifest.chunks,
        sentences=data.manifest.sentences,
        seconds=time.perf_counter() - started,
        model=embedder.name,
        skipped=loaded.skipped,
        duplicates=loaded.duplicates,
        changes=changes,
        chunk_counts=chunk_counts(data, current.data, changes),
        embedded=embedded.cache.embedded,
        reused=max(len(set(library.texts(settings.chunk_vectors))) - embedded.cache.embedded, 0),
        full_rebuild=embedded.reason,
        first_stage_embedded=None if first_cache is None else first_cache.embedded,
        ocr_pages={d.source: d.ocr_pages for d in library.documents.values() if d.ocr_pages},
        unreadable_pages=dict(loaded.unreadable_pages),
        set_aside=set_aside,
    )
