"""Scoring conversations: follow-ups, topic switches and questions after an unrelated turn.

A conversation file holds JSONL lines ``{"id", "lang", "kind", "turns", "answerable",
"answer"}``: the visitor's questions in order, and what the last one should get. ``kind``
says what the last question is: ``followup`` (it leans on the earlier turns), ``switch`` (it
names a new subject) or ``standalone`` (it stands on its own after an unrelated turn). Each
turn is asked in order with the bot's own earlier answers as history, as the chat page
sends them; only the last is scored, by the same rule as single questions.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from peruqa.config import HISTORY_MAX_TURNS
from peruqa.errors import EvalFileError
from peruqa.evaluation.evaluate import EvalItem, EvalResult, contains, evaluate_item, json_lines
from peruqa.qa.answering import Answer
from peruqa.qa.conversation import Context, Turn
from peruqa.qa.reply import Reply
from peruqa.qa.service import QAService
from peruqa.text.languages import DEFAULT_LANGUAGE, codes

KINDS = ("followup", "switch", "standalone")


@dataclass(frozen=True)
class Conversation:
    id: str
    lang: str
    kind: str
    turns: tuple[str, ...]
    answerable: bool
    answer: str | None


@dataclass(frozen=True)
class ConversationResult:
    conversation: Conversation
    answer: str
    abstained: bool
    correct: bool  # answered with the expected text, cited; or declined when unanswerable
    context: Context | None  # what the last question carried
    latency_ms: float  # of the last question
    # Answered from a document that holds the expected answer (right or not, it is about
    # the subject asked about); False for declines and unanswerable ones.
    on_subject: bool = False


def is_conversation_file(path: Path) -> bool:
    """Whether ``path`` holds conversations (its first record has ``turns``)."""
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    return isinstance(record, dict) and "turns" in record
    except (OSError, ValueError):
        return False  # the question-file reader says what is wrong with it
    return False


def load_conversations(path: Path) -> list[Conversation]:
    conversations = []
    for number, line in json_lines(path):
        try:
            record = json.loads(line)
            turns = tuple(str(turn) for turn in record["turns"])
            kind = str(record.get("kind", "followup"))
            if not turns or kind not in KINDS or isinstance(record["turns"], str):
                raise ValueError(kind)
            conversations.append(
                Conversation(
                    id=str(record.get("id", number)),
                    lang=str(record.get("lang", DEFAULT_LANGUAGE)),
                    kind=kind,
                    turns=turns,
                    answerable=bool(record.get("answerable", True)),
                    answer=record.get("answer"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalFileError(
                f"{path}, line {number}: not a valid conversation record "
                f'(needs "turns", a list of questions; "kind" one of {", ".join(KINDS)}).'
            ) from exc
    if not conversations:
        raise EvalFileError(f"{path} holds no conversations.")
    return conversations


def earlier_turn(reply: Reply, question: str) -> Turn:
    """A turn as the chat page sends it back: a declined turn has no answer to carry."""
    answer = reply.answer
    return Turn(question, None if answer.abstained else answer.answer)


def _right(answer: Answer, answerable: bool, expected: str | None) -> bool:
    if not answerable or not expected:
        return answer.abstained
    cited = any(contains(c.text, expected) for c in answer.citations)
    return not answer.abstained and contains(answer.answer, expected) and cited


def run_conversation(
    service: QAService, conversation: Conversation, top_k: int = 5, history: bool = True
) -> ConversationResult:
    """Ask every turn in order; with ``history=False`` the last question is asked alone."""
    turns: list[Turn] = []
    if history:
        for question in conversation.turns[:-1]:
            reply = service.reply(question, top_k, turns[-HISTORY_MAX_TURNS:])
            turns.append(earlier_turn(reply, question))
    started = time.perf_counter()
    last = service.reply(conversation.turns[-1], top_k, turns[-HISTORY_MAX_TURNS:])
    latency = (time.perf_counter() - started) * 1000
    answer = last.answer
    on_subject = False
    if conversation.answer and answer.citations:
        document = service.snapshot.data.documents.get(answer.citations[0].doc_id)
        on_subject = document is not None and contains(document.text, conversation.answer)
    return ConversationResult(
        conversation,
        answer.answer,
        answer.abstained,
        _right(answer, conversation.answerable, conversation.answer),
        last.context,
        latency,
        on_subject and not answer.abstained,
    )


def evaluate_conversations(
    service: QAService, conversations: list[Conversation], top_k: int = 5, history: bool = True
) -> list[ConversationResult]:
    return [run_conversation(service, c, top_k, history) for c in conversations]


def _share(hits: int, total: int) -> str:
    return f"{hits / total:.2f} ({hits}/{total})" if total else "-"


def summarise_conversations(results: list[ConversationResult]) -> str:
    """The figures by kind and language: follow-ups answered right, unanswerable
    follow-ups declined, topic switches and standalone questions answered right."""
    rows = (
        ("follow-ups answered right", "followup", True),
        ("unanswerable follow-ups declined", "followup", False),
        ("topic switches answered right", "switch", True),
        ("standalone after another turn, right", "standalone", None),
    )
    lines = []
    for title, kind, answerable in rows:
        cells = []
        for lang in (*codes(), "all"):
            chosen = [
                r
                for r in results
                if r.conversation.kind == kind
                and (answerable is None or r.conversation.answerable == answerable)
                and lang in (r.conversation.lang, "all")
            ]
            cells.append(f"{lang} {_share(sum(r.correct for r in chosen), len(chosen)):<12}")
        lines.append(f"{title:<38}" + "  ".join(cells))
    switches = [r for r in results if r.conversation.kind == "switch" and r.conversation.answerable]
    lines.append(
        f"{'topic switches answered from the new':<38}all "
        f"{_share(sum(r.on_subject for r in switches), len(switches))}  (subject's document)"
    )
    carried: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        carried[r.conversation.kind].append(r.context is not None)
    lines.append(
        "read with something carried: "
        + ", ".join(f"{kind} {_share(sum(carried[kind]), len(carried[kind]))}" for kind in KINDS)
    )
    latencies = sorted(r.latency_ms for r in results)
    lines.append(
        f"last question latency median {statistics.median(latencies):.1f} ms, "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.1f} ms ({len(results)} conversations)"
    )
    lines.append(f"all conversations right {_share(sum(r.correct for r in results), len(results))}")
    return "\n".join(lines)


def conversation_failures(results: list[ConversationResult]) -> str:
    lines = []
    for r in results:
        if r.correct:
            continue
        c = r.conversation
        expected = c.answer if c.answerable else "(decline)"
        got = "(declined)" if r.abstained else r.answer[:120]
        read = ""
        if r.context is not None:
            read = f"; carried {list(r.context.carried)} from turn {r.context.turn}"
            if r.context.question:
                read += f", read as {r.context.question!r}"
        lines.append(
            f"  {c.id} [{c.lang} {c.kind}] {' / '.join(c.turns)}\n"
            f"      expected {expected!r}; got {got!r}{read}"
        )
    return "\n".join(lines)


def evaluate_after(
    service: QAService, items: list[EvalItem], earlier: list[str], top_k: int = 5
) -> list[EvalResult]:
    """Single questions, each asked after an unrelated earlier turn: the first of
    ``earlier`` whose answer was not quoted from the document that answers the item."""
    turns = []
    for question in earlier:
        reply = service.reply(question, top_k)
        doc = reply.answer.citations[0].doc_id if reply.answer.citations else None
        turns.append((earlier_turn(reply, question), doc))
    documents = service.snapshot.data.documents
    results = []
    for item in items:
        holding = set()
        if item.answerable and item.answer:
            holding = {d for d, doc in documents.items() if contains(doc.text, item.answer)}
        turn = next((t for t, doc in turns if doc not in holding), turns[0][0])
        results.append(evaluate_item(service, item, top_k, [turn]))
    return results
