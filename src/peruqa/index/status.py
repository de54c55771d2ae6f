"""What the index holds, and whether it still matches the sources, the models and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from peruqa.config import Settings
from peruqa.errors import IndexCorruptError, IndexMissingError
from peruqa.index.manifest import (
    FIRST_STAGE_DIR,
    FORMAT_VERSION,
    MANIFEST,
    IndexSpec,
    Manifest,
    SourceDiff,
    diff_sources,
    first_stage_settings,
    read_manifest,
)
from peruqa.index.store import load_index
from peruqa.ingest.documents import scan_sources


@dataclass(frozen=True)
class DocumentRow:
    source: str
    title: str
    publisher: str
    language: str
    pages: int | None
    chunks: int
    ocr_pages: tuple[int, ...] = ()  # pages whose text came from OCR
    unreadable_pages: tuple[int, ...] = ()  # pages OCR could not read


@dataclass
class IndexStatus:
    manifest: Manifest
    documents: list[DocumentRow]
    changes: SourceDiff


def source_changes(manifest: Manifest, source_dir: Path) -> SourceDiff:
    """Files added, edited (content or sidecar) or removed since the index was built."""
    current = scan_sources(source_dir) if source_dir.is_dir() else {}
    return diff_sources({**manifest.documents, **manifest.skipped}, current)


def _checked_manifest(index_dir: Path) -> Manifest:
    """The manifest of an index that passes every load check: a damaged index is stale
    (``make run`` rebuilds it rather than start a server that would refuse it)."""
    manifest = read_manifest(index_dir)
    if manifest.format == FORMAT_VERSION:  # an older format is stale by its manifest alone
        load_index(index_dir, None)
    return manifest


def _first_stage_reason(index_dir: Path, spec: IndexSpec) -> str | None:
    try:
        manifest = _checked_manifest(index_dir / FIRST_STAGE_DIR)
    except IndexMissingError:
        return f"it has no first-stage index for '{spec.model}'"
    except IndexCorruptError as exc:
        return f"its first-stage index is damaged: {exc.message}"
    reason = spec.stale_reason(manifest)
    return None if reason is None else f"its first-stage index is out of date: {reason}"


def stale_reason(settings: Settings) -> str | None:
    """Why the index in ``settings.index_dir`` needs rebuilding, or None when it matches the
    sources, the models and the chunking and index settings."""
    try:
        manifest = _checked_manifest(settings.index_dir)
    except (IndexMissingError, IndexCorruptError) as exc:
        return exc.message
    reason = IndexSpec.from_settings(settings, settings.model).stale_reason(manifest)
    if reason is None and settings.cascade_model:
        spec = IndexSpec.from_settings(first_stage_settings(settings), settings.cascade_model)
        reason = _first_stage_reason(settings.index_dir, spec)
    return reason or source_changes(manifest, settings.source_dir).describe()


def index_status(index_dir: Path, source_dir: Path) -> IndexStatus:
    """The documents in the index and the source files that differ from it; both the index
    and its first stage (when there is one) are loaded, so every check runs on both."""
    data = load_index(index_dir, None)
    if (index_dir / FIRST_STAGE_DIR / MANIFEST).is_file():
        load_index(index_dir / FIRST_STAGE_DIR, None)
    counts = data.chunk_counts()
    rows = [
        DocumentRow(
            source=doc.source,
            title=doc.title,
            publisher=doc.publisher,
            language=doc.language,
            pages=len(doc.page_starts) or None,
            chunks=counts.get(doc.doc_id, 0),
            ocr_pages=doc.ocr_pages,
            unreadable_pages=doc.unreadable_pages,
        )
        for doc in sorted(data.documents.values(), key=lambda d: d.source)
    ]
    return IndexStatus(data.manifest, rows, source_changes(data.manifest, source_dir))
