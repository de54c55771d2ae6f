"""A damaged index is refused when it loads, with the project's own error, never later."""

import json

import numpy as np
import pytest

from peruqa.config import Settings
from peruqa.errors import IndexCorruptError
from peruqa.index.store import MANIFEST, load_index


def test_sentence_vectors_of_the_wrong_width_are_refused_at_load(settings: Settings) -> None:
    path = settings.index_dir / "sentences.npy"
    vectors = np.load(path)
    np.save(path, np.zeros((len(vectors), vectors.shape[1] // 2), dtype=np.float32))
    with pytest.raises(IndexCorruptError, match="sentence vectors"):
        load_index(settings.index_dir, "fake")


def test_vectors_of_the_wrong_type_are_refused_at_load(settings: Settings) -> None:
    path = settings.index_dir / "chunk_vectors.npy"
    np.save(path, np.load(path).astype(np.float64))
    with pytest.raises(IndexCorruptError, match="float64"):
        load_index(settings.index_dir, "fake")


@pytest.mark.parametrize(
    ("field", "value"), [("dim", "wide"), ("documents", ["a.md"]), ("chunks", None)]
)
def test_a_manifest_with_wrong_field_types_is_refused(
    settings: Settings, field: str, value: object
) -> None:
    path = settings.index_dir / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[field] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        load_index(settings.index_dir, "fake")
