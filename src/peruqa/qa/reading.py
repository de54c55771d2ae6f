"""Read before quoting: across languages, the reader helps choose the sentence.

The linear ranker and decision (``decision``) are cheap and, within a language, the
reader (``reader``) did not improve on them: on held-out SQuAD articles the ranker's first
sentence held the answer for 0.82 of answerable questions, with the reader weighed in
0.83, and the reader's scores did not separate answers from near misses better than the
decision does (bench/reader_research.md). Where a question's language is not its
document's, the ranker is weakest (on the team's Spanish questions its first sentence held
the answer for 0.58); weighing the reader's log-odds against the ranker's scores over the
top ``READ_TOP`` candidates raised that to 0.67. So the reader reads only those questions,
and only re-chooses the quote: whether to answer stays the linear decision's call.

The weight is fitted by ``peruqa train --reader`` and stored in ``reader.json`` under
``"decision"``, per main embedding model.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.errors import ModelFileError
from peruqa.qa.candidates import Candidate
from peruqa.qa.decision import Decision
from peruqa.qa.reader import READER_META, Reader

READ_TOP = 4  # candidates the reader reads: the ranker's top 4 hold the answer for ~90 %
_CLIP = 8.0


def logit(probability: float) -> float:
    p = min(max(probability, 1e-4), 1 - 1e-4)
    return max(-_CLIP, min(_CLIP, math.log(p / (1 - p))))


@dataclass(frozen=True)
class ReadingModel:
    """How much the ranker's order counts against the reader, across languages."""

    # Added to the reader's log-odds per unit of ranker score; None when the fit found that
    # reading does not pay (the reader is then never called).
    cross_rank_weight: float | None

    @classmethod
    def from_entry(cls, entry: Any, where: str) -> ReadingModel:
        try:
            raw = entry["cross_rank_weight"]
            weight = None if raw is None else float(raw)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: the reader's decision is incomplete.") from error
        if weight is not None and (not math.isfinite(weight) or weight < 0):
            raise ModelFileError(f"{where}: the reader's rank weight is not a weight.")
        return cls(weight)


def reader_inputs(candidates: list[Candidate]) -> list[str]:
    """What the reader reads of each candidate: its sentence."""
    return [candidate.sentence.text for candidate in candidates]


def choose(read: np.ndarray, ranker: np.ndarray, weight: float) -> int:
    """The candidate whose reader log-odds plus ``weight`` × its ranker lead is highest."""
    combined = [
        logit(float(r)) + weight * float(s - ranker[0]) for r, s in zip(read, ranker, strict=True)
    ]
    return int(np.argmax(combined))


class Reading:
    """The reader with its fitted weight: what the main stage calls after the decision."""

    def __init__(self, reader: Reader, model: ReadingModel) -> None:
        self.reader = reader
        self.model = model

    def refine(self, question: str, decision: Decision, cross: bool) -> Decision:
        """The decision with the reader's choice first, for a question across languages."""
        weight = self.model.cross_rank_weight
        if weight is None or not cross or len(decision.ranked) < 2:
            return decision
        top = decision.ranked[:READ_TOP]
        read = self.reader.score(question, reader_inputs(top))
        chosen = choose(read, np.asarray(decision.scores[: len(top)]), weight)
        ranked, scores = list(decision.ranked), list(decision.scores)
        ranked.insert(0, ranked.pop(chosen))
        scores.insert(0, scores.pop(chosen))
        return replace(decision, ranked=ranked, scores=tuple(scores), read=True)


def reading_models(meta_path: Path = READER_META) -> dict[str, ReadingModel]:
    """The reader's fitted weights, per main embedding model (none when never fitted)."""
    if not meta_path.is_file():
        return {}
    try:
        entries = json.loads(meta_path.read_text()).get("decision", {})
    except ValueError as error:
        raise ModelFileError(f"{meta_path.name} is not valid JSON.") from error
    return {
        name: ReadingModel.from_entry(entry, f"{meta_path.name} [{name}]")
        for name, entry in entries.items()
    }


@functools.cache
def _shared_reader() -> Reader:
    # One reader per process: index reloads and sibling services share it.
    return Reader.load()


def load_reading(model: str) -> Reading | None:
    """The reader with its weight for ``model``; None when it has none for it (a model it
    was not fitted with, such as the tests' fake embedder) or would never read."""
    fitted = reading_models().get(model)
    if fitted is None or fitted.cross_rank_weight is None:
        return None
    return Reading(_shared_reader(), fitted)
