"""A conversation as the server sees it: the earlier turns a client sends back with each
question, what was carried into a question for the visitor to see, and what each turn was
about as the next one reads it.

The server keeps no conversation of its own: the turns come with every question and are
read again, oldest first, each in the light of the one before (``followup``).
"""

from __future__ import annotations

from dataclasses import dataclass

from peruqa.qa.library_names import Mention


@dataclass(frozen=True)
class Turn:
    """An earlier turn as a client sends it back: the question, and the bot's answer when
    it gave one (the quote itself; None when it declined or the client does not say)."""

    question: str
    answer: str | None = None


@dataclass(frozen=True)
class Context:
    """What was carried into a question, for the visitor to see."""

    carried: tuple[str, ...]  # names, or the earlier answer's document title
    turn: int  # the earlier turn it came from, counted from 1, oldest first
    question: str | None = None  # the question as read, when an earlier one was asked again


@dataclass(frozen=True)
class TurnState:
    """What a turn was about, as the next turn sees it."""

    text: str  # the turn as read
    subjects: tuple[Mention, ...]  # spans are in ``text``
    origin: int  # the turn that named the subjects
    doc: str | None = None
    doc_turn: int = 0
    person: Mention | None = None  # the name a "who ...?" turn was answered with
