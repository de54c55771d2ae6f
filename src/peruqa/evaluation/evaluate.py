"""Evaluation over a JSONL question file: answer accuracy, abstention, retrieval quality."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peruqa.errors import EvalFileError
from peruqa.qa.conversation import Turn
from peruqa.qa.service import QAService
from peruqa.text.language import fold
from peruqa.text.languages import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class EvalItem:
    id: str
    lang: str
    question: str
    answerable: bool
    answer: str | None


@dataclass(frozen=True)
class EvalResult:
    item: EvalItem
    answer: str
    abstained: bool
    correct: bool  # answered with the expected text, cited; or declined when unanswerable
    rank: int | None  # 1-based rank of the first retrieved passage holding the answer
    latency_ms: float
    confidence: float = 0.0  # the decision's probability that the quote answers
    stage: str = "main"  # the cascade stage that answered ("first" never declines)


@dataclass
class Group:
    answerable: int = 0
    correct: int = 0
    unanswerable: int = 0
    declined: int = 0
    recall1: int = 0
    recall5: int = 0
    reciprocal_ranks: list[float] = field(default_factory=list)

    def line(self, name: str) -> str:
        parts = [f"{name:<4}"]
        if self.answerable:
            mrr = statistics.fmean(self.reciprocal_ranks)
            parts.append(
                f"accuracy {self.correct / self.answerable:.2f} ({self.correct}/{self.answerable})"
                f"  recall@1 {self.recall1 / self.answerable:.2f}"
                f"  recall@5 {self.recall5 / self.answerable:.2f}  MRR {mrr:.2f}"
            )
        if self.unanswerable:
            parts.append(
                f"abstention {self.declined / self.unanswerable:.2f} "
                f"({self.declined}/{self.unanswerable})"
            )
        return "  ".join(parts)


def json_lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a JSONL file with their line numbers (for error messages)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalFileError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    return [(number, line) for number, line in enumerate(lines, 1) if line.strip()]


def load_items(path: Path) -> list[EvalItem]:
    items = []
    for number, line in json_lines(path):
        try:
            record = json.loads(line)
            items.append(
                EvalItem(
                    id=str(record.get("id", number)),
                    lang=str(record.get("lang", DEFAULT_LANGUAGE)),
                    question=str(record["question"]),
                    answerable=bool(record.get("answerable", True)),
                    answer=record.get("answer"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}, line {number}: not a valid question record.") from exc
    if not items:
        raise EvalFileError(f"{path} holds no questions.")
    return items


def contains(text: str, expected: str) -> bool:
    """Whether ``text`` holds ``expected`` as whole words ("Ica" is not in "political"),
    ignoring case, accents and spacing."""
    needle = re.escape(fold(" ".join(expected.split())))
    return re.search(rf"(?<!\w){needle}(?!\w)", fold(" ".join(text.split()))) is not None


def evaluate_item(
    service: QAService, item: EvalItem, top_k: int = 5, history: Sequence[Turn] = ()
) -> EvalResult:
    started = time.perf_counter()
    answer = service.ask(item.question, top_k, history)
    latency = (time.perf_counter() - started) * 1000
    rank = None
    if item.answerable and item.answer:
        passages = answer.related if answer.abstained else answer.citations
        for position, citation in enumerate(passages, 1):
            if contains(citation.text, item.answer):
                rank = position
                break
        cited = any(contains(c.text, item.answer) for c in answer.citations)
        correct = not answer.abstained and contains(answer.answer, item.answer) and cited
    else:
        correct = answer.abstained
    return EvalResult(
        item,
        answer.answer,
        answer.abstained,
        correct,
        rank,
        latency,
        answer.confidence,
        answer.stage,
    )


def evaluate(service: QAService, items: list[EvalItem], top_k: int = 5) -> list[EvalResult]:
    return [evaluate_item(service, item, top_k) for item in items]


def summarise(results: list[EvalResult]) -> str:
    groups: dict[str, Group] = defaultdict(Group)
    for result in results:
        for name in (result.item.lang, "all"):
            group = groups[name]
            if result.item.answerable:
                group.answerable += 1
                group.correct += result.correct
                group.recall1 += result.rank == 1
                group.recall5 += result.rank is not None and result.rank <= 5
                group.reciprocal_ranks.append(1 / result.rank if result.rank else 0.0)
            else:
                group.unanswerable += 1
                group.declined += result.abstained
    answered = [len(r.answer) for r in results if not r.abstained]
    latencies = sorted(r.latency_ms for r in results)
    lines = [groups[name].line(name) for name in sorted(groups) if name != "all"]
    lines.append(groups["all"].line("all"))
    lines.append(
        f"mean answer length {statistics.fmean(answered) if answered else 0:.0f} characters; "
        f"latency median {statistics.median(latencies):.1f} ms, "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.1f} ms ({len(results)} questions)"
    )
    return "\n".join(lines)


def failures(results: list[EvalResult]) -> str:
    lines = []
    for r in results:
        if not r.correct:
            expected = r.item.answer if r.item.answerable else "(decline)"
            got = "(declined)" if r.abstained else r.answer[:120]
            lines.append(
                f"  {r.item.id} [{r.item.lang}] {r.item.question}\n"
                f"      expected {expected!r}; got {got!r}; rank {r.rank}"
            )
    return "\n".join(lines)
