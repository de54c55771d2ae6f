"""``history`` on ``POST /ask`` over real HTTP: validation naming the turn, and ``context``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import THREAD_CORPUS, write_corpus
from helpers import assert_error_shape
from peruqa.config import HISTORY_ANSWER_MAX_CHARS, HISTORY_MAX_TURNS

DIRECTOR = "Who is the country director of the Puno Water Trust?"
FOLLOW_UP = "And what is its phone number?"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "docs", THREAD_CORPUS)


def ask(server: str, history: Any, question: str = FOLLOW_UP) -> httpx.Response:
    return httpx.post(f"{server}/ask", json={"question": question, "history": history})


def test_a_follow_up_says_what_it_carried(live_server: str) -> None:
    first = httpx.post(f"{live_server}/ask", json={"question": DIRECTOR}).json()
    assert first["context"] is None
    history = [{"question": DIRECTOR, "answer": first["answer"]}]
    body = ask(live_server, history).json()
    assert body["question"] == FOLLOW_UP
    assert body["context"] == {"carried": ["Puno Water Trust"], "turn": 1, "question": None}
    cited = body["citations"] or body["related"]
    assert cited[0]["doc_id"] == "puno-water"
    # A staff client may send questions only; null history is no history.
    assert ask(live_server, [{"question": DIRECTOR}]).json()["context"]["carried"]
    assert ask(live_server, None).json()["context"] is None


def test_a_bare_new_subject_is_read_as_the_earlier_question(live_server: str) -> None:
    history = [{"question": "Since when has the Puno Water Trust built tanks?"}]
    body = ask(live_server, history, "What about Andes Relief?").json()
    assert body["context"]["question"] == "Since when has the Andes Relief built tanks?"
    assert body["context"]["carried"] == []


# Each bad history and the words its message must hold.
BAD_HISTORIES: list[tuple[Any, str]] = [
    ([{"question": "a"}] * (HISTORY_MAX_TURNS + 1), f"at most {HISTORY_MAX_TURNS}"),
    (
        [{"question": "a"}, {"question": "b", "answer": "x" * (HISTORY_ANSWER_MAX_CHARS + 1)}],
        "history turn 2: the answer is too long",
    ),
    (
        [{"question": "a"}, {"question": "b"}, {"question": "q" * 1001}],
        "history turn 3: the question is too long",
    ),
    ([{"question": 3}], "history turn 1"),
    ([{"question": "a", "answer": ["x"]}], "history turn 1"),
    ([{"question": "a"}, "just text"], "history turn 2 must be an object"),
    ([{"answer": "x"}], "history turn 1: the field 'question' is required"),
    ([{"question": "a", "doc": "x"}], "history turn 1: unknown field 'doc'"),
    ([{"question": ""}], "history turn 1: the question is empty"),
    ({"question": "a"}, "history must be a list"),
]


def test_bad_history_is_422_naming_the_turn(live_server: str) -> None:
    # One server for every case: each is a request, not a new index.
    for history, named in BAD_HISTORIES:
        message = assert_error_shape(ask(live_server, history), 422)
        assert named in message, (history, message)
