"""The JSON shapes of the public API, shared by ``/ask`` and ``peruqa ask --json``.

Limits that are settings (the question's length, the default top_k) are checked against
``Settings`` by the service; only fixed ranges live in these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from peruqa.config import TOP_K_MAX, TOP_K_MIN
from peruqa.qa.answering import Answer


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The length limit is PERUQA_MAX_QUESTION_CHARS, checked by the service.
    question: str = Field(min_length=1, examples=["When did the ICRC arrive?"])
    # None: the server's PERUQA_TOP_K.
    top_k: int | None = Field(default=None, ge=TOP_K_MIN, le=TOP_K_MAX)


class CitationOut(BaseModel):
    # Built straight from peruqa.qa.answering.Citation: the API fields are its fields.
    model_config = ConfigDict(from_attributes=True)

    title: str
    publisher: str
    source: str
    doc_id: str
    chunk_id: str
    text: str
    score: float
    start: int
    end: int
    page: int | None
    url: str
    language: str
    quote_start: int
    quote_end: int
    ocr: bool = False  # the cited page's text was read by OCR from a scan


class HighlightOut(BaseModel):
    start: int
    end: int


class AskResponse(BaseModel):
    question: str
    answer: str
    abstained: bool
    language: str
    answer_language: str | None
    confidence: float
    highlight: HighlightOut | None
    citations: list[CitationOut]
    related: list[CitationOut]
    # Set when the question was cut to the words the model reads (PERUQA_MAX_QUESTION_WORDS).
    notice: str | None = None


class FeedbackRequest(BaseModel):
    """A visitor's verdict on one answer; ``reason`` only from the page's fixed list."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=5000)
    answer: str = Field(default="", max_length=5000)
    helpful: bool
    reason: Literal["wrong", "outdated", "missing_source", "wrong_language"] | None = None
    language: Literal["en", "es"] = "en"
    # What the answer rested on, for the maintainers' report.
    doc_id: str | None = Field(default=None, max_length=300)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class FeedbackCreated(BaseModel):
    id: int


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class HealthResponse(BaseModel):
    status: str  # "ok" or "degraded"
    index_loaded: bool
    documents: int
    chunks: int
    model: str
    built_at: str | None
    message: str | None = None
    first_stage_model: str | None = None  # the cascade's fast model, when it is on
    # "ok" (shared store answers), "local" (per worker by configuration) or "degraded"
    # (the shared store is down: each worker limits alone, at its share).
    rate_limits: str = "ok"


class ReadyResponse(BaseModel):
    ready: bool
    build_id: str | None = None
    rate_limits: str = "ok"


def to_response(answer: Answer, notice: str | None = None) -> AskResponse:
    highlight = answer.highlight
    return AskResponse(
        question=answer.question,
        answer=answer.answer,
        abstained=answer.abstained,
        language=answer.language,
        answer_language=answer.answer_language,
        confidence=round(answer.confidence, 4),
        highlight=HighlightOut(start=highlight.start, end=highlight.end) if highlight else None,
        citations=[CitationOut.model_validate(c) for c in answer.citations],
        related=[CitationOut.model_validate(c) for c in answer.related],
        notice=notice,
    )


def error_body(code: str, message: str) -> dict[str, object]:
    return ErrorResponse(error=ErrorDetail(code=code, message=message)).model_dump()
