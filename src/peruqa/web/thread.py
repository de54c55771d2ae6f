"""The chat page's thread without JavaScript: earlier turns carried in signed hidden form
fields (``turns`` signs them), fitted to the body limit, and read back as the history of
the next question.

The page carries its last ``PAGE_SHOWN_TURNS`` turns. They hold the answers themselves
(passages cut to the quote), so a new question re-renders them without asking the model
again: one request is one question.
"""

from __future__ import annotations

from urllib.parse import urlencode

from pydantic import ValidationError

from peruqa.config import HISTORY_MAX_TURNS, PAGE_SHOWN_TURNS, Settings
from peruqa.qa.conversation import Turn
from peruqa.qa.reply import AskResponse, CitationOut
from peruqa.web.deps import WebContext

# What the page does not show of a carried citation is blanked: the whole thread must fit
# the body limit (16 KB) with a 1,000-character question beside it.
_UNSHOWN = {"source": "", "chunk_id": "", "url": "", "score": 0.0}


def _compact_citation(citation: CitationOut, keep_quote: bool) -> CitationOut:
    quote = citation.text[citation.quote_start : citation.quote_end] if keep_quote else ""
    return citation.model_copy(
        update={**_UNSHOWN, "text": quote, "quote_start": 0, "quote_end": len(quote)}
    )


def carry(turn: AskResponse) -> str:
    """A turn as the hidden field that brings it back on the next form post (~1 KB)."""
    compact = turn.model_copy(
        update={
            "citations": [_compact_citation(c, True) for c in turn.citations[:2]],
            "related": [_compact_citation(c, False) for c in turn.related[:2]],
            "notice": None,
        }
    )
    return compact.model_dump_json()


# The most a question's character can take in a form body: a 4-byte UTF-8 character
# (an emoji) percent-encoded is 12 bytes; CJK takes 9, and ASCII from 1 to 3.
_MAX_FORM_BYTES_PER_CHAR = 12
# What the form sends besides the question and the turns: its language, the separators.
_FORM_OVERHEAD = 256


def _fitting(carried: list[str], settings: Settings, question: str | None = None) -> list[str]:
    """The newest carried turns whose form encoding stays under the body limit beside the
    next question; older ones drop out. The next question is the one given (a form sent
    back as too long) or else the longest legal one, by its real encoded size."""
    if question is None:
        reserved = len("question=") + _MAX_FORM_BYTES_PER_CHAR * settings.max_question_chars
    else:
        reserved = len(urlencode({"question": question}))
    budget = settings.max_body_bytes - reserved - _FORM_OVERHEAD
    kept: list[str] = []
    for field in reversed(carried):
        budget -= len(urlencode({"turn": field})) + 1
        if budget < 0:
            break
        kept.append(field)
    return kept[::-1]


def carried_fields(
    context: WebContext, turns: list[AskResponse], question: str | None = None
) -> list[str]:
    """The thread's turns as signed hidden fields that fit the next form post."""
    payloads = [carry(turn) for turn in turns][-PAGE_SHOWN_TURNS:]
    bound_to = build_of(context)
    kept = _fitting(context.signer.sign(payloads, bound_to), context.settings, question)
    # The signatures chain from the oldest kept turn on: signed again from there (the same
    # sizes, so they still fit).
    return context.signer.sign(payloads[len(payloads) - len(kept) :], bound_to)


def build_of(context: WebContext) -> str:
    """The index build that signed turns are bound to ("" while none is loaded)."""
    snapshot = context.service.current
    return snapshot.data.manifest.build_id if snapshot else ""


def earlier_turns(fields: list[str]) -> list[AskResponse]:
    """Turns sent back by the form, once their signatures are checked (``TurnSigner``);
    every text still goes through autoescaping."""
    turns = []
    for field in fields[-PAGE_SHOWN_TURNS:]:
        try:
            turns.append(AskResponse.model_validate_json(field))
        except ValidationError:
            continue  # an old or damaged field just drops out of the thread
    return turns


def thread_history(turns: list[AskResponse]) -> list[Turn]:
    """The thread's last turns as the history of the next question, as the script sends
    them: a declined turn carries no answer."""
    return [
        Turn(turn.question, None if turn.abstained else turn.answer)
        for turn in turns[-HISTORY_MAX_TURNS:]
    ]
