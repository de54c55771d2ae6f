"""Leaks from measuring into fitting: a fitted question that copies, translates or inverts a
measure-only one makes every figure on the measured file a figure on training data.

Three rules, over every question of every file of ``eval/roles.toml`` (each turn of a
conversation too), with questions compared by the multilingual e5 model's cosine:

- **near duplicate**: similarity >= ``DUPLICATE`` whatever the answers;
- **translation or paraphrase**: similarity >= ``TRANSLATION`` and the same answer (one
  holds the other on word boundaries). Over five documents, short questions about one
  organisation pass 0.878 among themselves, so a question with no answer to confirm it
  (unanswerable, or an earlier turn of a conversation) is checked as a near duplicate only;
- **inversion**: similarity >= ``RELATED`` and one question names the other's answer
  ("What rate was recorded?" -> "105%" against "When was the 105% rate recorded?");
- **twin**: a fitted question with the same answer as a fitted one found above, and a
  similarity >= ``RELATED`` to it or naming the same measured answer (the Spanish twin of
  an inversion leaks as much as the inversion).

The thresholds come from data no rule here was tuned on: over 800 of the team's Spanish
translations of SQuAD training questions (``eval/squad2_es_questions.jsonl``) against their
English originals, e5 similarity was above 0.878 for 95 % of the pairs; unrelated questions
of the same articles passed 0.842 for 1 % of pairs, 0.887 for 0.1 % and 0.95 almost never.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from peruqa.evaluation.conversations import is_conversation_file, load_conversations
from peruqa.evaluation.evaluate import contains, load_items
from peruqa.index.embedding import Embedder
from peruqa.lab.roles import Role, Roles

DUPLICATE = 0.95
TRANSLATION = 0.878
RELATED = 0.842
_UNKNOWN = "?"  # the answer of a conversation's earlier turn: not stated in the file


@dataclass(frozen=True)
class Asked:
    file: Path
    id: str
    question: str
    answer: str | None  # None: unanswerable; _UNKNOWN: not stated


@dataclass(frozen=True)
class Leak:
    fitted: Asked
    measured: Asked
    rule: str
    similarity: float

    def line(self) -> str:
        return (
            f"{self.fitted.file.name}:{self.fitted.id} is a {self.rule} of "
            f"{self.measured.file.name}:{self.measured.id} (similarity {self.similarity:.3f})"
        )


def asked_in(path: Path) -> list[Asked]:
    """Every question of a question or conversation file, with its expected answer."""
    if is_conversation_file(path):
        found = []
        for c in load_conversations(path):
            last = len(c.turns) - 1
            for i, turn in enumerate(c.turns):
                answer = (c.answer if c.answerable else None) if i == last else _UNKNOWN
                found.append(Asked(path, f"{c.id}/{i + 1}", turn, answer))
        return found
    return [
        Asked(path, item.id, item.question, item.answer if item.answerable else None)
        for item in load_items(path)
    ]


def _known(answer: str | None) -> str | None:
    return None if answer == _UNKNOWN else answer


def _agree(a: str | None, b: str | None) -> bool:
    a, b = _known(a), _known(b)
    return a is not None and b is not None and (contains(a, b) or contains(b, a))


def _inverted(fitted: Asked, measured: Asked) -> bool:
    ours, theirs = _known(fitted.answer), _known(measured.answer)
    if ours is None or theirs is None:
        return False
    return contains(fitted.question, theirs) or contains(measured.question, ours)


def find_leaks(
    fitted: Sequence[Asked], measured: Sequence[Asked], embedder: Embedder
) -> list[Leak]:
    if not fitted or not measured:
        return []
    vectors = embedder.embed_queries([a.question for a in [*fitted, *measured]])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    ours = vectors[: len(fitted)]
    similarity = ours @ vectors[len(fitted) :].T
    leaks = _direct(fitted, measured, similarity)
    source = {id(leak.fitted): leak for leak in leaks}
    among = ours @ ours.T
    for i, f in enumerate(fitted):
        for j, g in enumerate(fitted):
            leak = source.get(id(g))
            if leak is None or id(f) in source or not _agree(f.answer, g.answer):
                continue
            theirs = _known(leak.measured.answer)
            names_it = theirs is not None and contains(f.question, theirs)
            if among[i, j] >= RELATED or names_it:
                leaks.append(Leak(f, g, "twin of a leak", float(among[i, j])))
                break
    return leaks


def _direct(
    fitted: Sequence[Asked], measured: Sequence[Asked], similarity: np.ndarray
) -> list[Leak]:
    leaks = []
    for i, f in enumerate(fitted):
        for j, m in enumerate(measured):
            score = float(similarity[i, j])
            if score >= DUPLICATE:
                rule = "near duplicate"
            elif score >= TRANSLATION and _agree(f.answer, m.answer):
                rule = "translation or paraphrase"
            elif score >= RELATED and _inverted(f, m):
                rule = "inversion"
            else:
                continue
            leaks.append(Leak(f, m, rule, score))
    return leaks


def leaks_in(roles: Roles, embedder: Embedder) -> list[Leak]:
    """Every leak between the files the manifest fits on (or sets thresholds with) and
    those it only measures with; files missing here (``../shared``) are skipped."""
    fitted = [
        a
        for role in (Role.FIT, Role.THRESHOLD)
        for path in roles.with_role(role)
        if path.is_file()
        for a in asked_in(path)
    ]
    measured = [
        a for path in roles.with_role(Role.MEASURE) if path.is_file() for a in asked_in(path)
    ]
    return find_leaks(fitted, measured, embedder)
