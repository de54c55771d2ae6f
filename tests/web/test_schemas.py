"""The API's request and response models, alone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from peruqa.config import TOP_K_MAX, TOP_K_MIN
from peruqa.qa.reply import AskResponse, CitationOut, HighlightOut
from peruqa.web.schemas import AskRequest, FeedbackRequest, error_body
from peruqa.web.thread import carry, earlier_turns


def test_ask_request_top_k_defaults_to_the_server_setting() -> None:
    assert AskRequest(question="q").top_k is None  # the service uses PERUQA_TOP_K


@pytest.mark.parametrize("top_k", [TOP_K_MIN, TOP_K_MAX])
def test_ask_request_accepts_the_top_k_range(top_k: int) -> None:
    assert AskRequest(question="q", top_k=top_k).top_k == top_k


@pytest.mark.parametrize(
    "payload",
    [
        {"question": "q", "top_k": TOP_K_MIN - 1},
        {"question": "q", "top_k": TOP_K_MAX + 1},
        {"question": "q", "extra": 1},
        {"top_k": 3},
        {"question": 5},
    ],
)
def test_ask_request_refuses(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AskRequest.model_validate(payload)


def test_ask_request_leaves_empty_questions_to_the_service() -> None:
    # Empty and blank are one condition with one code (invalid_question), from the service.
    assert AskRequest.model_validate({"question": ""}).question == ""


def test_ask_request_leaves_the_length_limit_to_the_settings() -> None:
    # PERUQA_MAX_QUESTION_CHARS can be raised; the schema must not hard-code 1000.
    assert AskRequest(question="x" * 5000).question == "x" * 5000


def test_feedback_request_bounds_reason_language_and_confidence() -> None:
    ok = FeedbackRequest(question="q", helpful=False, reason="wrong", confidence=0.5)
    assert ok.language == "en" and ok.doc_id is None
    for bad in ({"reason": "rude"}, {"language": "fr"}, {"confidence": 1.5}):
        with pytest.raises(ValidationError):
            FeedbackRequest.model_validate({"question": "q", "helpful": True, **bad})


def test_error_body_is_the_one_shape() -> None:
    assert error_body("x", "y") == {"error": {"code": "x", "message": "y"}}


def _citation(text: str, start: int, end: int) -> CitationOut:
    return CitationOut(
        title="T",
        publisher="P",
        source="s.md",
        doc_id="s",
        chunk_id="s:0",
        text=text,
        score=1.0,
        start=0,
        end=len(text),
        page=None,
        url="",
        language="en",
        quote_start=start,
        quote_end=end,
    )


def test_carried_turns_keep_the_quote_and_drop_the_rest() -> None:
    passage = "Intro sentence. The office opened in 1991. Closing words."
    turn = AskResponse(
        question="When?",
        answer="The office opened in 1991.",
        abstained=False,
        language="en",
        answer_language="en",
        confidence=0.9,
        highlight=HighlightOut(start=21, end=25),
        citations=[_citation(passage, 16, 42)] * 5,
        related=[],
        notice="cut",
    )
    field = carry(turn)
    assert len(field) < 1500
    (back,) = earlier_turns([field])
    assert back.answer == turn.answer and back.highlight == turn.highlight
    assert len(back.citations) == 2 and back.notice is None
    citation = back.citations[0]
    assert citation.text == "The office opened in 1991." and citation.quote_end == len(
        citation.text
    )


def test_carried_turns_always_fit_the_body_limit_beside_a_long_question() -> None:
    from urllib.parse import urlencode

    from peruqa.config import get_settings
    from peruqa.web.thread import _fitting

    settings = get_settings()
    accented = "é" * 60  # six bytes a character once percent-encoded
    turn = AskResponse(
        question=accented,
        answer=accented,
        abstained=False,
        language="es",
        answer_language="es",
        confidence=0.9,
        highlight=None,
        citations=[_citation(accented, 0, 400)] * 2,
        related=[],
    )
    kept = _fitting([carry(turn)] * 5, settings)
    assert 1 <= len(kept) < 5  # the oldest dropped out
    # Whatever the question's script: accents take 6 bytes a character, CJK 9, emoji 12.
    for char in ("ñ", "中", "😀"):
        body = urlencode(
            [("question", char * settings.max_question_chars), ("lang", "es")]
            + [("turn", field) for field in kept]
        )
        assert len(body) <= settings.max_body_bytes, char


def test_damaged_carried_turns_drop_out() -> None:
    assert earlier_turns(["{not json", '{"question": "only"}']) == []
