"""An answer as the public sees it: what ``POST /ask``, the chat page and ``peruqa ask --json``
return, in one JSON shape, built from one ``Reply`` of the service."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from peruqa.qa.answering import Answer


@dataclass(frozen=True)
class Reply:
    answer: Answer
    # Set when the question was cut to the words the model reads; in the question's language.
    notice: str | None = None


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


def to_response(reply: Reply) -> AskResponse:
    answer = reply.answer
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
        notice=reply.notice,
    )
