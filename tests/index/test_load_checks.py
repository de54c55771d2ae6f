"""A damaged index is refused when it loads, with the project's own error, never later.

Each damage is tried twice where it matters: as it is (the checksums catch it) and resealed
(the manifest's checksums rewritten to match, as if the build had hashed damaged files), so
the checks behind the checksums are each shown to hold on their own."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from index_helpers import FastEmbedder, reseal
from peruqa.cli import main
from peruqa.config import Settings
from peruqa.errors import IndexCorruptError
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.manifest import FIRST_STAGE_DIR
from peruqa.index.store import MANIFEST, load_index


def _refused(index_dir: Path, name: str, reason: str) -> str:
    with pytest.raises(IndexCorruptError) as caught:
        load_index(index_dir, None)
    message = caught.value.message
    assert f"({name}: " in message and reason in message, message
    return message


def _flip(path: Path, offset: int, mask: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= mask
    path.write_bytes(bytes(raw))


def _vector_offset(index_dir: Path, row: int) -> int:
    """Where chunk ``row``'s vector starts inside chunks.faiss."""
    vector = np.load(index_dir / "chunk_vectors.npy")[row].tobytes()
    raw = (index_dir / "chunks.faiss").read_bytes()
    assert raw.count(vector) == 1
    return raw.index(vector)


@pytest.fixture
def with_first_stage(settings: Settings) -> Settings:
    build(settings, FakeEmbedder(), first_stage=FastEmbedder())
    return settings


def _env(settings: Settings) -> dict[str, str]:
    return {
        "PERUQA_MODEL": "fake",
        "PERUQA_SOURCE_DIR": str(settings.source_dir),
        "PERUQA_INDEX_DIR": str(settings.index_dir),
        "PERUQA_DATA_DIR": str(settings.data_dir),
    }


# -- fault 1: one flipped bit in chunks.faiss (main and first stage), NaN vectors --------


@pytest.mark.parametrize("folder", ["", FIRST_STAGE_DIR])
def test_one_flipped_bit_in_chunks_faiss_is_refused_by_load_and_status(
    with_first_stage: Settings, folder: str
) -> None:
    index_dir = with_first_stage.index_dir / folder
    # One bit of the exponent of chunk 1's first float, as the issue's probe did.
    _flip(index_dir / "chunks.faiss", _vector_offset(index_dir, 1) + 3, 0x40)
    _refused(index_dir, "chunks.faiss", "SHA-256")
    status = CliRunner().invoke(main, ["index", "status"], env=_env(with_first_stage))
    assert status.exit_code == 1, status.output
    assert "chunks.faiss" in status.output and "damaged" in status.output


@pytest.mark.parametrize("index_type", ["flat", "hnsw"])
@pytest.mark.parametrize("value", [np.nan, np.inf, 3.0])
def test_vectors_that_are_not_finite_or_not_unit_are_refused_even_resealed(
    settings: Settings, value: float, index_type: str
) -> None:
    build(settings.model_copy(update={"index_type": index_type}), FakeEmbedder())
    index_dir = settings.index_dir
    assert load_index(index_dir, None).manifest.index_type == index_type
    offset = _vector_offset(index_dir, 1)
    raw = bytearray((index_dir / "chunks.faiss").read_bytes())
    raw[offset : offset + 4] = np.float32(value).tobytes()
    (index_dir / "chunks.faiss").write_bytes(bytes(raw))
    reseal(index_dir)
    reason = "not of length 1" if np.isfinite(value) else "not finite"
    _refused(index_dir, "chunks.faiss", f"vector 1 is {reason}")


def test_index_if_stale_rebuilds_a_damaged_index(settings: Settings) -> None:
    """``make run`` runs ``peruqa index --if-stale``: a damaged index is stale, not served."""
    env = {**_env(settings), "PERUQA_FIRST_STAGE_MODEL": "none"}
    _flip(settings.index_dir / "chunks.faiss", _vector_offset(settings.index_dir, 1) + 3, 0x40)
    result = CliRunner().invoke(main, ["index", "--if-stale"], env=env)
    assert result.exit_code == 0, result.output
    assert "Rebuilding the index" in result.output and "chunks.faiss" in result.output
    assert "set aside" in result.output
    load_index(settings.index_dir, "fake")
    again = CliRunner().invoke(main, ["index", "--if-stale"], env=env)
    assert "up to date" in again.output


# -- fault 2: an exponent bit in sentences.npy, spread by an update ---------------------


def _flip_sentence_exponent(index_dir: Path, row: int) -> None:
    path = index_dir / "sentences.npy"
    vectors = np.load(path)
    raw = path.read_bytes()
    header = len(raw) - vectors.nbytes
    # Byte 3 of a little-endian float32 holds the sign and the top exponent bits.
    _flip(path, header + (row * vectors.shape[1]) * 4 + 3, 0x40)


@pytest.mark.parametrize("resealed", [False, True])
def test_a_damaged_sentence_vector_is_refused_and_an_update_rebuilds(
    settings: Settings, resealed: bool
) -> None:
    rows = len(np.load(settings.index_dir / "sentences.npy"))
    _flip_sentence_exponent(settings.index_dir, min(5, rows - 1))
    if resealed:
        reseal(settings.index_dir)
    _refused(settings.index_dir, "sentences.npy", "not finite" if resealed else "SHA-256")

    (settings.source_dir / "new.md").write_text("A new report about rivers in Puno.\n")
    report = build(settings, FakeEmbedder())
    assert report.set_aside is not None and report.reused == 0
    assert report.full_rebuild and "sentences.npy" in report.full_rebuild
    data = load_index(settings.index_dir, "fake")
    for vectors in (data.sentence_vectors, data.chunk_vectors):
        assert vectors is not None and np.isfinite(vectors).all()


# -- fault 3: a same-length edit of a quote in chunks.jsonl -----------------------------


@pytest.mark.parametrize("resealed", [False, True])
def test_a_same_length_text_edit_in_chunks_jsonl_is_refused(
    settings: Settings, resealed: bool
) -> None:
    path = settings.index_dir / "chunks.jsonl"
    text = path.read_text(encoding="utf-8")
    assert text.count("Ana Quispe") >= 1
    path.write_text(text.replace("Ana Quispe", "Eve Attack"), encoding="utf-8")
    if resealed:
        reseal(settings.index_dir)
    _refused(
        settings.index_dir, "chunks.jsonl", "text differs from the document" if resealed else ""
    )


# -- fault 6: a short chunks.jsonl is named as such -------------------------------------


@pytest.mark.parametrize("keep", [0, -1])
def test_a_short_chunks_jsonl_is_named_not_the_vectors(settings: Settings, keep: int) -> None:
    path = settings.index_dir / "chunks.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:keep]), encoding="utf-8")
    reseal(settings.index_dir)
    message = _refused(settings.index_dir, "chunks.jsonl", "says")
    assert "chunk_vectors.npy" not in message


# -- fault 7: faiss's own messages stay inside ------------------------------------------


@pytest.mark.parametrize("cut", [0, 40, -10])
def test_an_unreadable_chunks_faiss_is_one_short_line(settings: Settings, cut: int) -> None:
    path = settings.index_dir / "chunks.faiss"
    path.write_bytes(path.read_bytes()[:cut])
    reseal(settings.index_dir)
    message = _refused(settings.index_dir, "chunks.faiss", "not an index FAISS can read")
    reason = message.split("(", 1)[1]
    assert "\n" not in message and "faiss::" not in message and ".cpp" not in message
    assert str(settings.index_dir) not in reason  # the folder is named once, up front


# -- fault 10: the manifest's types ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dim", "wide"),
        ("dim", "256"),
        ("dim", 0),
        ("chunks", 3.0),
        ("index_type", "bogus"),
        ("chunk_vectors", "magic"),
        ("documents", ["a.md"]),
        ("chunks", None),
        ("files", {"chunks.faiss": "not a digest"}),
    ],
)
def test_a_manifest_with_wrong_field_types_is_refused(
    settings: Settings, field: str, value: object
) -> None:
    path = settings.index_dir / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[field] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")
    _refused(settings.index_dir, MANIFEST, field)


def test_an_index_without_checksums_is_refused(settings: Settings) -> None:
    path = settings.index_dir / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["files"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    _refused(settings.index_dir, MANIFEST, "no checksum for chunks.faiss")


def test_the_build_writes_the_checksum_of_every_file(settings: Settings) -> None:
    for folder in (settings.index_dir, settings.index_dir / FIRST_STAGE_DIR):
        if not folder.is_dir():
            continue
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        assert sorted(manifest["files"]) == sorted(
            p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST
        )
    # A fresh load of what was just written passes every check.
    load_index(settings.index_dir, "fake")


# -- the width and type checks behind the checksums -------------------------------------


def test_sentence_vectors_of_the_wrong_width_are_refused_at_load(settings: Settings) -> None:
    path = settings.index_dir / "sentences.npy"
    vectors = np.load(path)
    np.save(path, np.zeros((len(vectors), vectors.shape[1] // 2), dtype=np.float32))
    reseal(settings.index_dir)
    _refused(settings.index_dir, "sentences.npy", "sentence vectors")


def test_vectors_of_the_wrong_type_are_refused_at_load(settings: Settings) -> None:
    path = settings.index_dir / "chunk_vectors.npy"
    np.save(path, np.load(path).astype(np.float64))
    reseal(settings.index_dir)
    _refused(settings.index_dir, "chunk_vectors.npy", "float64")
