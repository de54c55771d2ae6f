"""The JSON shapes of the public API, shared by ``/ask`` and ``peruqa ask --json``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from peruqa.qa.answering import Answer


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=1000, examples=["When did the ICRC arrive?"])
    top_k: int = Field(default=5, ge=1, le=20)


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
    ocr: bool  # the cited page's text was read by OCR from a scan


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


class FeedbackRequest(BaseModel):
    """A visitor's verdict on one answer; ``reason`` only from the page's fixed list."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(default="", max_length=5000)
    helpful: bool
    reason: Literal["wrong", "outdated", "missing_source", "wrong_language"] | None = None
    language: Literal["en", "es"] = "en"


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


def to_response(answer: Answer) -> AskResponse:
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
    )


def error_body(code: str, message: str) -> dict[str, object]:
    return ErrorResponse(error=ErrorDetail(code=code, message=message)).model_dump()
