"""Helpers of the index tests: a fast first-stage model, and damage resealed as a build could
have written it (the checksums made to match the files)."""

from __future__ import annotations

import json
from pathlib import Path

from peruqa.index.embedding import FakeEmbedder
from peruqa.index.manifest import INDEX_FILES, MANIFEST, file_sha256


def reseal(index_dir: Path) -> None:
    """Write each file's current SHA-256 into the manifest, so a test reaches the checks that
    come after the checksums (damage done before the build hashed its files)."""
    path = index_dir / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = {name: file_sha256(index_dir / name) for name in INDEX_FILES}
    path.write_text(json.dumps(manifest), encoding="utf-8")


class FastEmbedder(FakeEmbedder):
    """A different, smaller fake model standing in for the cascade's fast first stage."""

    name = "fake-fast"

    def __init__(self) -> None:
        super().__init__(dim=64)
