"""The JSON shapes of the HTTP API's requests, errors and probes; the answer's own shape is
``peruqa.qa.reply`` (``peruqa ask --json`` prints it too).

Limits that are settings (the question's length, the default top_k) are checked against
``Settings`` by the service; only fixed ranges live in these models.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from peruqa.config import HISTORY_ANSWER_MAX_CHARS, HISTORY_MAX_TURNS, TOP_K_MAX, TOP_K_MIN
from peruqa.qa.conversation import Turn
from peruqa.records.feedback import MAX_DOC_ID_CHARS, MAX_TEXT_CHARS, Reason
from peruqa.text.languages import DEFAULT_LANGUAGE, codes


class HistoryTurn(BaseModel):
    """An earlier turn of the conversation, as the client shows it."""

    model_config = ConfigDict(extra="forbid")

    # Empty, blank and too long are the service's checks, as for the question itself.
    question: str = Field(examples=["Who runs Diakonia in Peru?"])
    # The bot's answer (its quote); leave it out when the bot declined or it is not kept.
    answer: str | None = Field(
        default=None,
        max_length=HISTORY_ANSWER_MAX_CHARS,
        examples=["Rocio Palomino, Country Director Peru"],
    )

    def turn(self) -> Turn:
        return Turn(self.question, self.answer)


class BodyExample(BaseModel):
    """A request body whose errors show a valid example of itself."""

    EXAMPLE: ClassVar[str]


class AskRequest(BodyExample):
    model_config = ConfigDict(extra="forbid")
    EXAMPLE = '{"question": "...", "top_k": 5}'

    # Empty, blank and too long are the service's checks (invalid_question), one code for
    # each condition whatever the route; the length limit is PERUQA_MAX_QUESTION_CHARS.
    question: str = Field(examples=["When did the ICRC arrive?"])
    # None: the server's PERUQA_TOP_K.
    top_k: int | None = Field(default=None, ge=TOP_K_MIN, le=TOP_K_MAX)
    # The earlier turns, oldest first; the server keeps no conversation of its own.
    history: list[HistoryTurn] | None = Field(default=None, max_length=HISTORY_MAX_TURNS)

    def turns(self) -> list[Turn]:
        return [turn.turn() for turn in self.history or ()]


class FeedbackRequest(BodyExample):
    """A visitor's verdict on one answer; ``reason`` only from the page's fixed list."""

    model_config = ConfigDict(extra="forbid")
    EXAMPLE = '{"question": "...", "answer": "...", "helpful": false, "reason": "wrong"}'

    # Empty, blank and too long are the store's checks (invalid_feedback), one code for
    # each condition whatever the route; the descriptions tell /docs the limits.
    question: str = Field(
        description=f"The question as /ask returned it; at most {MAX_TEXT_CHARS} characters."
    )
    # Only identifies the answer: the store keeps its hash, and the report shows what the
    # query log says the bot answered (never this text).
    answer: str = Field(
        default="",
        description=f"The answer as /ask returned it; at most {MAX_TEXT_CHARS} characters.",
    )
    helpful: bool
    reason: Reason | None = None
    language: str = DEFAULT_LANGUAGE  # a registered language code
    # What the answer rested on, for the maintainers' report.
    doc_id: str | None = Field(default=None, max_length=MAX_DOC_ID_CHARS)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("language")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in codes():
            raise ValueError(f"use one of {', '.join(codes())}")
        return value


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


def error_body(code: str, message: str) -> dict[str, object]:
    return ErrorResponse(error=ErrorDetail(code=code, message=message)).model_dump()
