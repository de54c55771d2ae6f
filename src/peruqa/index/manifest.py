"""What an index was built from, and the one set of rules for comparing it with today.

``IndexSpec`` is what the settings and the embedder ask for. Its ``reuse_problem`` answers
"can the old vectors be reused?" (build) and ``stale_reason`` answers "does the index need
rebuilding?" (``peruqa index --if-stale``, status); both read the same checks, so the two
questions can never disagree. ``diff_sources`` is the one comparison of source files, with one
vocabulary (added / changed / removed / unchanged) for the build report and for status.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from peruqa.config import ChunkVectors, IndexType, Settings
from peruqa.errors import IndexCorruptError, IndexMissingError
from peruqa.ingest.chunking import CHUNKER_VERSION
from peruqa.ingest.readers import READER_VERSION

MANIFEST = "manifest.json"
# The fast model's index for the cascade lives inside the main one, so both swap together.
FIRST_STAGE_DIR = "first-stage"
# 3: the manifest holds a SHA-256 of every index file (older indexes are rebuilt).
FORMAT_VERSION = 3
# The files of an index besides the manifest; each one's SHA-256 is in ``Manifest.files``.
INDEX_FILES = (
    "chunks.faiss",
    "chunk_vectors.npy",
    "sentences.npy",
    "chunks.jsonl",
    "documents.json",
)

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Count = Annotated[int, Field(ge=0)]


@dataclass(frozen=True)
class Manifest:
    # Strict: a hand-edited "dim": "384", "chunks": 3.0 or an unknown (misspelt) field is
    # damage, not a value to convert or ignore.
    __pydantic_config__ = ConfigDict(strict=True, extra="forbid")

    model: str
    dim: Annotated[int, Field(gt=0)]
    documents: dict[str, str]  # source path -> fingerprint of the file (and its sidecar)
    built_at: str
    version: str
    chunks: Count
    sentences: Count
    chunk_max_chars: Annotated[int, Field(gt=0)]
    # Files that were not indexed (unreadable or duplicates), with their fingerprints, so
    # they don't count as new each time; ``problems`` says why.
    skipped: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT_VERSION
    chunk_overlap: Count = 1
    problems: dict[str, str] = field(default_factory=dict)
    # Changes with every build; a reader compares it before and after loading.
    build_id: str = ""
    index_type: IndexType = "flat"
    chunker: int = 1  # chunking.CHUNKER_VERSION of the rules that split the documents
    chunk_vectors: ChunkVectors = "model"  # "model" (texts embedded) or "pooled" (sentences)
    reader: int = 1  # readers.READER_VERSION of the readers that extracted the documents
    # INDEX_FILES name -> SHA-256 of its bytes, written once the files are complete and
    # checked at every load.
    files: dict[str, Sha256] = field(default_factory=dict)


_MANIFEST_SCHEMA = TypeAdapter(Manifest)


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
            f"The index in {index_dir} is damaged ({MANIFEST}: {damage_reason(exc)}). "
            "Rebuild with 'peruqa index' (it sets the damaged copy aside)."
        ) from exc


def damage_reason(exc: BaseException) -> str:
    """A short, readable cause for a damaged index file (a validation error's first problem,
    else the last line of the library's message)."""
    if isinstance(exc, ValidationError):
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ()))
        return f"{where + ': ' if where else ''}{problem.get('msg', 'invalid value')}"
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else type(exc).__name__


@dataclass(frozen=True)
class IndexSpec:
    """The index the settings ask for with one model; ``dim`` None skips the dimension check
    (status knows the model's name without loading it)."""

    model: str
    dim: int | None
    chunk_max_chars: int
    chunk_overlap: int
    index_type: str
    chunk_vectors: str = "pooled"
    chunker: int = CHUNKER_VERSION
    reader: int = READER_VERSION
    format: int = FORMAT_VERSION

    @classmethod
    def from_settings(cls, settings: Settings, model: str, dim: int | None = None) -> IndexSpec:
        return cls(
            model=model,
            dim=dim,
            chunk_max_chars=settings.chunk_max_chars,
            chunk_overlap=settings.chunk_overlap_sentences,
            index_type=settings.index_type,
            chunk_vectors=settings.chunk_vectors,
        )

    def reuse_problem(self, manifest: Manifest) -> str | None:
        """Why vectors of an index with ``manifest`` cannot be reused, or None when they can."""
        if manifest.format != self.format:
            return f"the index format changed ({manifest.format} -> {self.format})"
        if manifest.model != self.model or (self.dim is not None and manifest.dim != self.dim):
            dim = manifest.dim if self.dim is None else self.dim
            before, after = f"{manifest.model}/{manifest.dim}d", f"{self.model}/{dim}d"
            return f"the model changed ({before} -> {after})"
        if (manifest.chunk_max_chars, manifest.chunk_overlap) != (
            self.chunk_max_chars,
            self.chunk_overlap,
        ):
            return (
                "the chunking settings changed (chunk size "
                f"{manifest.chunk_max_chars} -> {self.chunk_max_chars}, overlap "
                f"{manifest.chunk_overlap} -> {self.chunk_overlap})"
            )
        if manifest.chunker != self.chunker:
            return "the chunking rules changed"
        return None

    def stale_reason(self, manifest: Manifest) -> str | None:
        """Why an index with ``manifest`` must be rebuilt for this spec, or None.

        The index type, the way chunk vectors are made and the readers are part of staleness
        but not of reuse: the vectors of unchanged texts stay valid, so such a rebuild embeds
        little or nothing (newer readers also read every file again).
        """
        problem = self.reuse_problem(manifest)
        if problem is None and manifest.index_type != self.index_type:
            problem = f"the index type changed ({manifest.index_type} -> {self.index_type})"
        if problem is None and manifest.reader != self.reader:
            problem = "the file readers changed (scanned PDF pages are now read by OCR)"
        if problem is None and manifest.chunk_vectors != self.chunk_vectors:
            problem = (
                f"the chunk vectors setting changed ({manifest.chunk_vectors} -> "
                f"{self.chunk_vectors})"
            )
        return problem


def first_stage_settings(settings: Settings) -> Settings:
    """The settings the cascade's fast model is indexed with: it embeds its chunks' texts
    (cheap with that model), so only the main model's chunk vectors may be pooled."""
    return settings.model_copy(update={"chunk_vectors": "model"})


@dataclass
class SourceDiff:
    """Source files compared with an index: each path is in exactly one list."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def describe(self) -> str | None:
        """One line naming the files that differ, or None when nothing does."""
        parts = [
            f"{label} source files: {', '.join(paths)}"
            for label, paths in (
                ("added", self.added),
                ("changed", self.changed),
                ("removed", self.removed),
            )
            if paths
        ]
        return "; ".join(parts) or None


def diff_sources(indexed: dict[str, str], current: dict[str, str]) -> SourceDiff:
    """Compare two ``source -> fingerprint`` maps: what the index holds and what is there now."""
    return SourceDiff(
        added=sorted(set(current) - set(indexed)),
        changed=sorted(p for p, digest in current.items() if p in indexed and indexed[p] != digest),
        removed=sorted(set(indexed) - set(current)),
        unchanged=sorted(p for p, digest in current.items() if indexed.get(p) == digest),
    )


_HASH_BLOCK = 1 << 20


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks so a large index never sits in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
