"""The index a build replaces: what of it a new build may reuse (parsed documents, vectors)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from peruqa.config import Settings
from peruqa.errors import IndexCorruptError, PeruQAError
from peruqa.index.data import IndexData, vector_cache_from
from peruqa.index.embedding import Embedder
from peruqa.index.manifest import IndexSpec
from peruqa.index.store import load_index, read_manifest
from peruqa.index.vector_cache import VectorCache
from peruqa.ingest.documents import Document
from peruqa.ingest.readers import READER_VERSION


@dataclass
class CurrentIndex:
    """The index a build replaces, as far as it could be loaded."""

    data: IndexData | None
    problem: str | None  # why it could not be loaded, when it exists
    # The index is there but damaged: the build sets it aside instead of deleting it.
    corrupt: bool = False

    @classmethod
    def load(cls, index_dir: Path) -> CurrentIndex:
        if not index_dir.exists():
            return cls(None, None)
        try:
            read_manifest(index_dir)
        except IndexCorruptError as error:
            return cls(None, f"the current index is damaged ({error.message})", corrupt=True)
        except PeruQAError:
            return cls(None, "the current index is unreadable")
        try:
            return cls(load_index(index_dir, None), None)
        except IndexCorruptError as error:
            return cls(None, f"the current index is damaged ({error.message})", corrupt=True)
        except PeruQAError as error:
            return cls(None, f"the current index could not be loaded ({error.message})")

    def documents(self) -> dict[str, Document]:
        """Its documents by source, so unchanged files are not parsed (or OCR'd) again; none
        when older readers extracted them."""
        if self.data is None or self.data.manifest.reader != READER_VERSION:
            return {}
        return {document.source: document for document in self.data.documents.values()}

    def reusable(
        self, settings: Settings, embedder: Embedder, full: bool
    ) -> tuple[VectorCache, IndexData | None, str | None]:
        """The vectors a build with ``embedder`` may reuse, the index they come from, and
        why nothing is reused (None when vectors are reused or there was no index)."""
        data, reason = self.data, self.problem
        if data is not None:
            spec = IndexSpec.from_settings(settings, embedder.name, embedder.dim)
            problem = spec.reuse_problem(data.manifest)
            if problem is not None:
                data, reason = None, problem
        if data is None:
            return VectorCache(embedder.dim), None, reason
        if full:
            return VectorCache(embedder.dim), data, "a full rebuild was asked for"
        return vector_cache_from(data), data, None
