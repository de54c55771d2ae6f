"""Every check on a question before a model reads it, and every refusal's wording.

The web app, ``peruqa ask`` and ``peruqa eval`` all go through ``QuestionChecks``, so they
refuse the same questions the same way: each refusal is an ``InvalidQuestionError``
(``errors`` gives its status), worded here once, in the language of the API. The chat page
shows a refusal that has a ``message_key`` in the visitor's language instead.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from peruqa.config import (
    HISTORY_ANSWER_MAX_CHARS,
    HISTORY_MAX_TURNS,
    TOP_K_MAX,
    TOP_K_MIN,
    Settings,
)
from peruqa.errors import InvalidQuestionError
from peruqa.index.embedding import Embedder, question_tokens
from peruqa.qa.conversation import Turn
from peruqa.qa.question import bound_question
from peruqa.text.i18n import message
from peruqa.text.languages import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Checked:
    """A question that passed the checks: spaces collapsed, cut to the words the model reads."""

    text: str
    top_k: int
    cut: bool
    # The earlier turns, oldest first, each within the same bounds (``history`` on /ask).
    history: tuple[Turn, ...] = ()


# -- refusals ---------------------------------------------------------------------------


def empty_question() -> InvalidQuestionError:
    return InvalidQuestionError(message("error_empty", DEFAULT_LANGUAGE), message_key="error_empty")


def not_text() -> InvalidQuestionError:
    """Bytes that are not UTF-8 (a terminal in another encoding hands them over as lone
    surrogates)."""
    return InvalidQuestionError(
        "The question is not valid UTF-8 text; check the terminal's encoding."
    )


def question_too_long(length: int, limit: int) -> InvalidQuestionError:
    return InvalidQuestionError(
        f"The question is too long ({length} characters); the limit is {limit}."
    )


def top_k_out_of_range() -> InvalidQuestionError:
    return InvalidQuestionError(f"top_k must be between {TOP_K_MIN} and {TOP_K_MAX}.")


def too_many_turns(count: int) -> InvalidQuestionError:
    return InvalidQuestionError(
        f"history holds {count} turns; at most {HISTORY_MAX_TURNS} are read."
    )


def turn_refused(number: int, problem: str) -> InvalidQuestionError:
    """A problem with one earlier turn, named by its number (from 1, oldest first)."""
    return InvalidQuestionError(f"history turn {number}: {problem}")


def turn_too_long(number: int, part: str, length: int | None, limit: int) -> InvalidQuestionError:
    size = f" ({length} characters)" if length is not None else ""
    return turn_refused(number, f"the {part} is too long{size}; the limit is {limit} characters.")


# -- checks -----------------------------------------------------------------------------


def _whole(text: str) -> str:
    """``text`` without lone surrogates: half of a character, which JSON can carry ("\\ud800")
    and no encoder can write back, so echoing it would fail the reply."""
    return "".join(c for c in text if unicodedata.category(c) != "Cs")


class QuestionChecks:
    """The checks of one service: its settings' limits, its main model's token count."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self._tokens = functools.partial(question_tokens, embedder)

    def check(
        self, question: str, top_k: int | None = None, history: Sequence[Turn] = ()
    ) -> Checked:
        """The question ready to answer, or ``InvalidQuestionError``: cheap, so the server
        runs it before a question waits for a model thread."""
        settings = self.settings
        cleaned = " ".join(_whole(question).split())
        # Nothing visible (blank, or zero-width and other format characters only) is no
        # question: refused like an empty one rather than declined.
        if not any(unicodedata.category(char)[0] in "LMNPS" for char in cleaned):
            raise empty_question()
        if len(cleaned) > settings.max_question_chars:
            raise question_too_long(len(cleaned), settings.max_question_chars)
        k = settings.top_k if top_k is None else top_k
        if not TOP_K_MIN <= k <= TOP_K_MAX:
            raise top_k_out_of_range()
        text, cut = self.bound(cleaned)
        return Checked(text, k, cut, tuple(self._history(history)))

    def bound(self, question: str) -> tuple[str, bool]:
        """The question cut to what the model may read (words, then tokens)."""
        return bound_question(
            question,
            self.settings.max_question_words,
            self.settings.max_question_tokens,
            self._tokens,
        )

    def _history(self, history: Sequence[Turn]) -> list[Turn]:
        """Earlier turns, cleaned; a turn out of bounds is refused by its number."""
        if len(history) > HISTORY_MAX_TURNS:
            raise too_many_turns(len(history))
        limit = self.settings.max_question_chars
        cleaned = []
        for number, turn in enumerate(history, 1):
            question = " ".join(_whole(turn.question).split())
            if not question:
                raise turn_refused(number, "the question is empty.")
            if len(question) > limit:
                raise turn_too_long(number, "question", len(question), limit)
            answer = turn.answer if turn.answer is None else _whole(turn.answer)
            if answer is not None and len(answer) > HISTORY_ANSWER_MAX_CHARS:
                raise turn_too_long(number, "answer", len(answer), HISTORY_ANSWER_MAX_CHARS)
            # An earlier question can be asked again ("what about Enabel?"): the same bound.
            question = self.bound(question)[0]
            cleaned.append(Turn(question, answer))
        return cleaned
