"""Feedback: the SQLite store, the JSON and form routes, and ``peruqa feedback export``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from peruqa.cli import main
from peruqa.config import Settings
from peruqa.errors import InvalidFeedbackError
from peruqa.index.embedding import FakeEmbedder
from peruqa.records.feedback import FeedbackStore
from peruqa.records.querylog import answer_id
from peruqa.web.app import create_app


def test_store_adds_lists_and_survives_reopening(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"
    store = FeedbackStore.in_folder(folder)
    assert store.list() == []
    first = store.add("When?", "In 1991.", True)
    second = store.add("¿Dónde?", "En Cusco.", False, "wrong_language", "es")
    assert (first.id, second.id) == (1, 2)
    # A new store on the same file, as after a restart, sees everything.
    again = FeedbackStore.in_folder(folder).list()
    assert again == [first, second]
    assert again[1].reason == "wrong_language" and again[1].helpful is False
    assert again[1].language == "es" and again[1].created_at.endswith("+00:00")


@pytest.mark.parametrize(
    ("question", "reason", "problem"),
    [("", None, "question"), ("Why?", "rude", "Unknown reason"), ("\ud800", None, "Unicode")],
)
def test_store_refuses_bad_input(
    tmp_path: Path, question: str, reason: str | None, problem: str
) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(InvalidFeedbackError, match=problem):
        store.add(question, "", False, reason)


def test_export_formats(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.add('Say "hi", please', "Line one\nline two", False, "outdated")
    store.add("=HYPERLINK()", "", True)
    rows = list(csv.DictReader(io.StringIO(store.export("csv"))))
    # The answer's id alone is kept: what the bot said comes from the query log.
    assert rows[0]["question"] == 'Say "hi", please' and "answer" not in rows[0]
    assert rows[0]["answer_id"] == answer_id('Say "hi", please', "Line one\nline two")
    assert rows[0]["helpful"] == "False" and rows[0]["reason"] == "outdated"
    assert rows[1]["question"] == "'=HYPERLINK()"  # never a live spreadsheet formula
    lines = [json.loads(line) for line in store.export("jsonl").splitlines()]
    assert [line["helpful"] for line in lines] == [False, True]
    assert lines[1]["question"] == "=HYPERLINK()" and lines[1]["reason"] is None
    with pytest.raises(InvalidFeedbackError):
        store.export("xml")


def test_feedback_routes(settings: Settings) -> None:
    with TestClient(create_app(settings, FakeEmbedder())) as client:
        created = client.post(
            "/feedback",
            json={"question": "When?", "answer": "1991", "helpful": False, "reason": "wrong"},
        )
        assert created.status_code == 201 and created.json() == {"id": 1}
        bad = client.post("/feedback", json={"question": "When?", "helpful": "maybe"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
        form = client.post(
            "/feedback/form",
            data={"question": "When?", "answer": "1991", "helpful": "1", "lang": "es"},
            follow_redirects=False,
        )
        assert form.status_code == 303
        # Back to the page with thanks; no ?q=, which would ask the question again.
        assert form.headers["location"] == "/?lang=es&feedback=sent#status"
        unknown = client.post(
            "/feedback/form", data={"question": "When?", "helpful": "0", "reason": "rude"}
        )
        assert unknown.status_code == 422
    records = FeedbackStore.in_folder(settings.data_dir).list()
    assert [(r.helpful, r.reason, r.language) for r in records] == [
        (False, "wrong", "en"),
        (True, None, "es"),
    ]


def test_cli_export(tmp_path: Path) -> None:
    store = FeedbackStore.in_folder(tmp_path)
    store.add("When?", "In 1991.", True)
    runner = CliRunner()
    shown = runner.invoke(
        main, ["feedback", "export", "--format", "jsonl", "--data-dir", str(tmp_path)]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["answer_id"] == answer_id("When?", "In 1991.")

    target = tmp_path / "out.csv"
    written = runner.invoke(
        main, ["feedback", "export", "--data-dir", str(tmp_path), "--output", str(target)]
    )
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8").startswith("id,created_at,question")
    assert "Exported 1 feedback records" in written.output

    # Environment settings work too, and problems are one-line messages, not traces.
    failed = runner.invoke(
        main,
        ["feedback", "export", "--output", str(tmp_path / "missing" / "out.csv")],
        env={"PERUQA_DATA_DIR": str(tmp_path)},
    )
    assert failed.exit_code == 1
    assert "Error: Cannot write" in failed.output and "Traceback" not in failed.output
    wrong = runner.invoke(main, ["feedback", "export", "--format", "xml"])
    assert wrong.exit_code == 2 and "xml" in wrong.output
