"""``peruqa eval`` on a conversation file, and single questions after an unrelated turn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import THREAD_CORPUS, write_corpus
from peruqa.cli import main
from peruqa.config import Settings
from peruqa.evaluation.conversations import (
    evaluate_conversations,
    is_conversation_file,
    load_conversations,
    summarise_conversations,
)
from peruqa.index.embedding import FakeEmbedder
from peruqa.qa.service import QAService

CONVERSATIONS = [
    {
        "id": "f1",
        "lang": "en",
        "kind": "followup",
        "turns": ["Who is the country director of the Puno Water Trust?", "and since when?"],
        "answerable": True,
        "answer": "2005",
    },
    {
        "id": "u1",
        "lang": "es",
        "kind": "followup",
        "turns": ["¿Quién dirige Andes Relief?", "¿y cuál es su correo?"],
        "answerable": False,
        "answer": None,
    },
    {
        "id": "s1",
        "lang": "en",
        "kind": "switch",
        "turns": ["Who directs Andes Relief?", "And the Puno Water Trust, since when?"],
        "answerable": True,
        "answer": "2005",
    },
    {
        "id": "t1",
        "lang": "en",
        "kind": "standalone",
        "turns": ["Who directs Andes Relief?", "Who won the football world cup in 2014?"],
        "answerable": False,
        "answer": None,
    },
]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "docs", THREAD_CORPUS)


@pytest.fixture
def conversation_file(tmp_path: Path) -> Path:
    path = tmp_path / "conversations.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS), encoding="utf-8")
    return path


def test_conversations_are_asked_in_order_and_the_last_turn_scored(
    settings: Settings, conversation_file: Path
) -> None:
    assert is_conversation_file(conversation_file)
    conversations = load_conversations(conversation_file)
    assert [c.kind for c in conversations] == ["followup", "followup", "switch", "standalone"]
    service = QAService(settings, FakeEmbedder())
    results = evaluate_conversations(service, conversations)
    by_id = {r.conversation.id: r for r in results}
    # The follow-ups were read with their earlier subject; the switch and the standalone
    # question carried nothing.
    assert by_id["f1"].context is not None
    assert "Puno Water Trust" in by_id["f1"].context.carried
    assert by_id["u1"].context is not None
    assert by_id["s1"].context is None and by_id["t1"].context is None
    alone = evaluate_conversations(service, conversations, history=False)
    assert all(r.context is None for r in alone)
    summary = summarise_conversations(results)
    for title in (
        "follow-ups answered right",
        "unanswerable follow-ups declined",
        "topic switches answered right",
        "standalone after another turn, right",
    ):
        assert title in summary
    assert "read with something carried: followup 1.00 (2/2), switch 0.00 (0/1)" in summary


def test_peruqa_eval_reads_conversation_files(
    settings: Settings, conversation_file: Path, tmp_path: Path
) -> None:
    env = {
        "PERUQA_MODEL": "fake",
        "PERUQA_SOURCE_DIR": str(settings.source_dir),
        "PERUQA_INDEX_DIR": str(settings.index_dir),
        "PERUQA_DATA_DIR": str(settings.data_dir),
        "PERUQA_FIRST_STAGE_MODEL": "none",
    }
    runner = CliRunner()
    result = runner.invoke(main, ["eval", str(conversation_file), "-v"], env=env)
    assert result.exit_code == 0, result.output
    assert re.search(r"follow-ups answered right +en \S+ \(\d/1\)", result.output)
    assert "(4 conversations)" in result.output
    lines = runner.invoke(main, ["eval", str(conversation_file), "--json"], env=env)
    records = [json.loads(line) for line in lines.output.splitlines()]
    assert [r["id"] for r in records] == ["f1", "u1", "s1", "t1"]
    assert records[0]["carried"] and records[2]["carried"] is None
    alone = runner.invoke(main, ["eval", str(conversation_file), "--no-history"], env=env)
    assert "followup 0.00 (0/2)" in alone.output

    # A single-question file, each question asked after an unrelated earlier turn.
    questions = tmp_path / "questions.jsonl"
    item = {
        "id": "q1",
        "question": "Since when has Andes Relief run mobile clinics?",
        "answerable": True,
        "answer": "1984",
    }
    questions.write_text(json.dumps(item) + "\n", encoding="utf-8")
    after = runner.invoke(
        main, ["eval", str(questions), "--earlier", "Who directs the Puno Water Trust?"], env=env
    )
    assert after.exit_code == 0, after.output
    assert "(1 questions)" in after.output

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"turns": "not a list"}\n', encoding="utf-8")
    failed = runner.invoke(main, ["eval", str(broken)], env=env)
    assert failed.exit_code == 1
    assert "line 1: not a valid conversation record" in failed.output
