"""An answer as the public sees it: what ``POST /ask``, the chat page and ``peruqa ask --json``
return, in one JSON shape, built from one ``Reply`` of the service."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from peruqa.qa.answering import Answer
from peruqa.qa.conversation import Context


@dataclass(frozen=True)
class Reply:
    answer: Answer
    # Set when the question was cut to the words the model reads; in the question's language.
    notice: str | None = None
    # What a follow-up carried from the earlier turns; None when it was read alone.
    context: Context | None = None


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


class ContextOut(BaseModel):
    """What a follow-up carried from the earlier turns."""

    carried: list[str]  # names, or the earlier answer's document title
    turn: int  # which earlier turn, counted from 1, oldest first
    question: str | None = None  # the question as read, when an earlier one was asked again

    @classmethod
    def of(cls, context: Context | None) -> ContextOut | None:
        if context is None:
            return None
        return cls(carried=list(context.carried), turn=context.turn, question=context.question)


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
    # Set when the question was read as a follow-up of an earlier turn in ``history``.
    context: ContextOut | None = None


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
        context=ContextOut.of(reply.context),
    )
