"""What a build reports: documents and chunks by change, what was embedded or reused, and
every file left out and why (``peruqa index`` prints it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from peruqa.index.data import IndexData
from peruqa.index.manifest import SourceDiff
from peruqa.ingest.documents import Duplicate, SkippedFile


@dataclass
class BuildReport:
    documents: int
    chunks: int
    sentences: int
    seconds: float
    model: str
    skipped: list[SkippedFile] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    changes: SourceDiff = field(default_factory=SourceDiff)
    # Chunks per category: added/changed count the new chunks, removed the dropped ones.
    chunk_counts: dict[str, int] = field(default_factory=dict)
    embedded: int = 0  # texts (chunks + sentences) sent to the model this time
    reused: int = 0  # texts whose vectors came from the previous index
    full_rebuild: str | None = None  # why nothing could be reused, when that was the case
    first_stage_embedded: int | None = None  # texts the cascade's fast model embedded
    # source -> pages read by OCR, and pages OCR could not read (reported, never fatal).
    ocr_pages: dict[str, tuple[int, ...]] = field(default_factory=dict)
    unreadable_pages: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Where the damaged index this build replaced was moved, when there was one.
    set_aside: Path | None = None

    @property
    def added(self) -> list[str]:
        return self.changes.added

    @property
    def changed(self) -> list[str]:
        return self.changes.changed

    @property
    def removed(self) -> list[str]:
        return self.changes.removed

    @property
    def unchanged(self) -> list[str]:
        return self.changes.unchanged

    def problems(self) -> list[str]:
        lines = [f"{item.source}: {item.reason}" for item in self.skipped]
        lines += [f"{item.source}: duplicate of {item.same_as}" for item in self.duplicates]
        return lines


def chunk_counts(new: IndexData, old: IndexData | None, changes: SourceDiff) -> dict[str, int]:
    def by_source(data: IndexData | None) -> dict[str, int]:
        if data is None:
            return {}
        return {data.documents[i].source: n for i, n in data.chunk_counts().items()}

    new_counts, old_counts = by_source(new), by_source(old)
    return {
        "added": sum(new_counts.get(s, 0) for s in changes.added),
        "changed": sum(new_counts.get(s, 0) for s in changes.changed),
        "removed": sum(old_counts.get(s, 0) for s in changes.removed),
        "unchanged": sum(new_counts.get(s, 0) for s in changes.unchanged),
    }
