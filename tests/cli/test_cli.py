import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from conftest import write_corpus
from peruqa.cli import main
from peruqa.config import get_settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app

QUESTION = "When did the agency open an office in Cusco?"
ASK_KEYS = {"answer", "abstained", "citations"}
CITATION_KEYS = {"title", "publisher", "source", "chunk_id", "text", "score", "start", "end"}


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {"source": write_corpus(tmp_path / "docs"), "index": tmp_path / "index"}


@pytest.fixture
def env(folders: dict[str, Path], tmp_path: Path) -> dict[str, str]:
    return {
        "PERUQA_MODEL": "fake",
        "PERUQA_SOURCE_DIR": str(folders["source"]),
        "PERUQA_INDEX_DIR": str(folders["index"]),
        "PERUQA_DATA_DIR": str(tmp_path / "data"),
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def indexed(env: dict[str, str]) -> dict[str, str]:
    result = run(env, "index")
    assert result.exit_code == 0, result.output
    return env


def test_index_builds_and_prints_counts(
    env: dict[str, str], folders: dict[str, Path], tmp_path: Path
) -> None:
    # Options win over the environment: point the environment elsewhere.
    other = {**env, "PERUQA_SOURCE_DIR": str(tmp_path / "nope"), "PERUQA_INDEX_DIR": "/nope"}
    result = run(
        other, "index", "--source", str(folders["source"]), "--index", str(folders["index"])
    )
    assert result.exit_code == 0, result.output
    assert "Indexed 3 documents" in result.output
    assert re.search(r"\b\d+ chunks\b", result.output)
    assert (folders["index"] / "manifest.json").is_file()


def test_index_reports_skipped_files(env: dict[str, str], folders: dict[str, Path]) -> None:
    (folders["source"] / "broken.md").write_bytes(b"\xff\xfe not text")
    result = CliRunner().invoke(main, ["index"], env=env)
    assert result.exit_code == 0
    assert "broken.md" in result.output
    assert "Indexed 3 documents" in result.output


def test_index_if_stale_is_up_to_date_the_second_time(indexed: dict[str, str]) -> None:
    result = run(indexed, "index", "--if-stale")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert "Indexed" not in result.output


def test_index_if_stale_rebuilds_after_a_change(
    indexed: dict[str, str], folders: dict[str, Path]
) -> None:
    (folders["source"] / "new.md").write_text("A brand new report.\n", encoding="utf-8")
    result = run(indexed, "index", "--if-stale")
    assert result.exit_code == 0, result.output
    assert "new.md" in result.output
    assert "Indexed 4 documents" in result.output


def test_index_with_missing_source_folder_fails_cleanly(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run(env, "index", "--source", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "Traceback" not in result.output


def test_ask_json_prints_the_same_keys_as_the_api(indexed: dict[str, str]) -> None:
    result = run(indexed, "ask", QUESTION, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) >= ASK_KEYS
    assert body["abstained"] is False
    assert body["citations"]
    for citation in body["citations"]:
        assert set(citation) >= CITATION_KEYS
    assert body["answer"] in body["citations"][0]["text"]


def test_ask_json_top_k(indexed: dict[str, str]) -> None:
    result = run(indexed, "ask", QUESTION, "--json", "--top-k", "1")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["citations"]) == 1


def test_ask_prints_answer_and_numbered_sources(indexed: dict[str, str]) -> None:
    result = run(indexed, "ask", QUESTION)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "1991" in lines[0]
    assert re.search(
        r"\[1\] Red Cross in the Andes \(Example Relief Agency\).*red-cross\.md", result.output
    )


def test_ask_empty_question_exits_1_without_traceback(indexed: dict[str, str]) -> None:
    result = run(indexed, "ask", "")
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "Traceback" not in result.output


def test_ask_without_index_says_to_run_peruqa_index(env: dict[str, str]) -> None:
    result = run(env, "ask", QUESTION)
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "peruqa index" in result.output
    assert "Traceback" not in result.output


def test_ask_with_unknown_model_fails_with_a_message(indexed: dict[str, str]) -> None:
    result = run({**indexed, "PERUQA_MODEL": "nosuchmodel"}, "ask", QUESTION)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Error:" in result.output


def write_eval(path: Path) -> Path:
    records = [
        {"id": "e1", "lang": "en", "question": QUESTION, "answerable": True, "answer": "1991"},
        {
            "id": "e2",
            "lang": "en",
            "question": "How many people received clean water in the highlands?",
            "answerable": True,
            "answer": "12,345",
        },
        {
            "id": "s1",
            "lang": "es",
            "question": "¿En qué año recibieron formación las parteras?",
            "answerable": True,
            "answer": "2018",
        },
        {
            "id": "u1",
            "lang": "en",
            "question": "Who won the football world cup final in 2022?",
            "answerable": False,
            "answer": None,
        },
    ]
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    return path


def test_eval_prints_scores_by_language(indexed: dict[str, str], tmp_path: Path) -> None:
    result = run(indexed, "eval", str(write_eval(tmp_path / "qa.jsonl")))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    en = next(line for line in lines if line.startswith("en "))
    es = next(line for line in lines if line.startswith("es "))
    assert "accuracy 1.00 (2/2)" in en
    assert "abstention 1.00 (1/1)" in en
    assert "accuracy 1.00 (1/1)" in es
    assert "abstention" not in es
    assert re.search(r"mean answer length \d+ characters", result.output)
    assert re.search(r"latency median [\d.]+ ms", result.output)


def test_eval_on_malformed_file_exits_1(indexed: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "fine"}\nthis is not json\n', encoding="utf-8")
    result = run(indexed, "eval", str(bad))
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "line 2" in result.output
    assert "Traceback" not in result.output


def test_eval_on_missing_file_exits_1(indexed: dict[str, str], tmp_path: Path) -> None:
    result = run(indexed, "eval", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "Traceback" not in result.output


def test_serve_on_a_port_in_use_says_so_without_a_banner(indexed: dict[str, str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(indexed, "serve", "--port", str(port))
    assert result.exit_code == 1
    assert "already in use" in result.output
    assert "PeruQA on" not in result.output  # nothing claims it is serving


def test_ask_json_equals_post_ask_for_a_long_question(
    indexed: dict[str, str], serve_app: Callable[[Any], str]
) -> None:
    # 40 words: over PERUQA_MAX_QUESTION_WORDS, so both must cut it and say so.
    question = " ".join([QUESTION.rstrip("?"), *["and its work in the highlands"] * 6])[:400]
    assert len(question.split()) >= 40
    result = run(indexed, "ask", question, "--json")
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.output)
    settings = get_settings(
        model="fake",
        source_dir=Path(indexed["PERUQA_SOURCE_DIR"]),
        index_dir=Path(indexed["PERUQA_INDEX_DIR"]),
        data_dir=Path(indexed["PERUQA_DATA_DIR"]),
    )
    base = serve_app(create_app(settings, FakeEmbedder()))
    over_http = httpx.post(f"{base}/ask", json={"question": question}, timeout=30)
    assert over_http.status_code == 200, over_http.text
    assert from_cli == over_http.json()
    assert from_cli["notice"] and str(settings.max_question_words) in from_cli["notice"]
    assert len(from_cli["question"].split()) == settings.max_question_words


def test_eval_refuses_an_option_the_kind_of_file_does_not_take(
    indexed: dict[str, str], tmp_path: Path
) -> None:
    questions = write_eval(tmp_path / "qa.jsonl")
    result = run(indexed, "eval", str(questions), "--no-history")
    assert result.exit_code == 2
    assert "--no-history is for conversation files" in result.output
    conversations = tmp_path / "conv.jsonl"
    line = {"id": "c1", "kind": "followup", "lang": "en", "turns": [QUESTION, "And since?"]}
    conversations.write_text(json.dumps({**line, "answerable": False}) + "\n", encoding="utf-8")
    result = run(indexed, "eval", str(conversations), "--earlier", "Who are you?")
    assert result.exit_code == 2
    assert "--earlier is for question files" in result.output
