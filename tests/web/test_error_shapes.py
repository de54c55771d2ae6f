"""One error shape, and one code for each condition, on every path that can refuse a request:
the body parser's own failures, empty or invisible questions, and /feedback's fields."""

from __future__ import annotations

import httpx
import pytest

from helpers import assert_error_shape

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"question": "When?", "top_k": ' + b"7" * 5000 + b"}",  # past Python's int limit
        b"[" * 3000 + b"]" * 3000,  # past the recursion limit
        '{"question": "¿Cuándo llegó el año?"}'.encode("latin-1"),  # not UTF-8
        b'{"question": "When?", ',  # plainly broken JSON
    ],
    ids=["5000-digit-number", "3000-deep", "latin-1", "truncated"],
)
@pytest.mark.parametrize("route", ["/ask", "/feedback"])
def test_every_unreadable_body_is_the_same_invalid_request(
    live_server: str, route: str, body: bytes
) -> None:
    response = httpx.post(f"{live_server}{route}", content=body, headers=JSON)
    assert_error_shape(response, 422, "invalid_request")


@pytest.mark.parametrize("question", ["", "   \n\t", "\u200b\u200c\u200d\ufeff", "\u2060 \u200b"])
def test_empty_blank_and_invisible_questions_are_one_refusal(
    live_server: str, question: str
) -> None:
    response = httpx.post(f"{live_server}/ask", json={"question": question})
    assert assert_error_shape(response, 422, "invalid_question") == "Please type a question."


def test_half_a_character_is_dropped_not_echoed_into_a_failed_reply(live_server: str) -> None:
    # JSON can carry a lone surrogate; the question is answered without it.
    body = b'{"question": "0\\ud800 \\udc97?", "history": [{"question": "When\\udb57?"}]}'
    response = httpx.post(f"{live_server}/ask", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["question"] == "0 ?"
    # A lone surrogate alone is no question at all.
    empty = httpx.post(f"{live_server}/ask", content=b'{"question": "\\ud800"}', headers=JSON)
    assert_error_shape(empty, 422, "invalid_question")


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_and_blank_feedback_are_one_refusal(live_server: str, question: str) -> None:
    response = httpx.post(f"{live_server}/feedback", json={"question": question, "helpful": True})
    assert_error_shape(response, 422, "invalid_feedback")


@pytest.mark.parametrize("body", [b"[]", b'"text"', b""])
def test_feedback_errors_name_feedbacks_own_fields(live_server: str, body: bytes) -> None:
    response = httpx.post(f"{live_server}/feedback", content=body, headers=JSON)
    message = assert_error_shape(response, 422, "invalid_request")
    assert "helpful" in message and "top_k" not in message


@pytest.mark.parametrize("body", [b"[]", b""])
def test_ask_errors_name_asks_own_fields(live_server: str, body: bytes) -> None:
    response = httpx.post(f"{live_server}/ask", content=body, headers=JSON)
    message = assert_error_shape(response, 422, "invalid_request")
    assert "question" in message and "helpful" not in message
