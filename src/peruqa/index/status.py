"""What the index holds, and how the source folder differs from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from peruqa.errors import IndexCorruptError, IndexMissingError
from peruqa.index.store import FIRST_STAGE_DIR, FORMAT_VERSION, Manifest, load_index, read_manifest
from peruqa.ingest.chunking import CHUNKER_VERSION
from peruqa.ingest.documents import scan_sources


@dataclass(frozen=True)
class DocumentRow:
    source: str
    title: str
    publisher: str
    language: str
    pages: int | None
    chunks: int


@dataclass
class SourceChanges:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def describe(self) -> str | None:
        parts = [
            f"{label} source files: {', '.join(paths)}"
            for label, paths in (
                ("new", self.new),
                ("changed", self.changed),
                ("removed", self.removed),
            )
            if paths
        ]
        return "; ".join(parts) or None


@dataclass
class IndexStatus:
    manifest: Manifest
    documents: list[DocumentRow]
    changes: SourceChanges


def source_changes(manifest: Manifest, source_dir: Path) -> SourceChanges:
    """Files added, edited (content or sidecar) or removed since the index was built."""
    current = scan_sources(source_dir) if source_dir.is_dir() else {}
    indexed = {**manifest.documents, **manifest.skipped}
    return SourceChanges(
        new=sorted(set(current) - set(indexed)),
        changed=sorted(p for p, digest in current.items() if p in indexed and indexed[p] != digest),
        removed=sorted(set(indexed) - set(current)),
    )


def stale_reason(
    index_dir: Path, source_dir: Path, model: str, first_stage_model: str | None = None
) -> str | None:
    """Why the index needs rebuilding, or None when it matches the sources and the models."""
    try:
        manifest = read_manifest(index_dir)
    except (IndexMissingError, IndexCorruptError) as exc:
        return exc.message
    if manifest.model != model:
        return f"it was built with '{manifest.model}', not '{model}'"
    if manifest.format != FORMAT_VERSION:
        return "its format is out of date"
    if manifest.chunker != CHUNKER_VERSION:
        return "it was split by older chunking rules"
    if first_stage_model:
        try:
            first = read_manifest(index_dir / FIRST_STAGE_DIR)
        except (IndexMissingError, IndexCorruptError):
            return f"it has no first-stage index for '{first_stage_model}'"
        if first.model != first_stage_model or first.build_id == "":
            return f"its first stage was built with '{first.model}', not '{first_stage_model}'"
    return source_changes(manifest, source_dir).describe()


def index_status(index_dir: Path, source_dir: Path) -> IndexStatus:
    """The documents in the index and the source files that differ from it."""
    data = load_index(index_dir, None)
    counts = data.chunk_counts()
    rows = [
        DocumentRow(
            source=doc.source,
            title=doc.title,
            publisher=doc.publisher,
            language=doc.language,
            pages=len(doc.page_starts) or None,
            chunks=counts.get(doc.doc_id, 0),
        )
        for doc in sorted(data.documents.values(), key=lambda d: d.source)
    ]
    return IndexStatus(data.manifest, rows, source_changes(data.manifest, source_dir))
