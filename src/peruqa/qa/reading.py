"""Read before answering: the reader re-weighs the ranker's top candidates when unsure.

The linear ranker and decision (``decision``) are cheap and often sure. When the decision's
probability falls between ``gate_low`` and ``gate_high``, the reader (``reader``) reads the
question with each of the top ``READ_TOP`` sentences; the sentence it finds most answering
(with a little weight on the ranker's order) is chosen, and a small logistic regression
over the decision's log-odds and the reader's scores for the chosen sentence and the
runner-up gives the final probability. Outside the gate the decision stands alone.

Every parameter here is fitted by ``peruqa train --reader`` and stored in ``reader.json``
under ``"decision"``.
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
from peruqa.qa.model import Linear
from peruqa.qa.reader import READER_META, Reader, ReaderInput

READ_TOP = 4  # candidates the reader reads: the answer is among them for ~95 %
STACK_FEATURES = ("old_logit", "read_top", "read_second", "read_margin", "agree", "cross")
_CLIP = 8.0


def logit(probability: float) -> float:
    p = min(max(probability, 1e-4), 1 - 1e-4)
    return max(-_CLIP, min(_CLIP, math.log(p / (1 - p))))


@dataclass(frozen=True)
class ReadingModel:
    """The fitted parts: how much the ranker's order counts, the stack, the gate."""

    rank_weight: float  # added to the reader's log-odds per unit of ranker score
    stack: Linear
    threshold: float  # on the stacked probability
    gate_low: float
    gate_high: float

    @classmethod
    def from_entry(cls, entry: Any, where: str) -> ReadingModel:
        try:
            stack = Linear(
                tuple(float(v) for v in entry["stack"]["mean"]),
                tuple(float(v) for v in entry["stack"]["scale"]),
                tuple(float(v) for v in entry["stack"]["weights"]),
                float(entry["stack"]["bias"]),
            )
            model = cls(
                float(entry["rank_weight"]),
                stack,
                float(entry["threshold"]),
                float(entry["gate_low"]),
                float(entry["gate_high"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: the reader's decision is incomplete.") from error
        if len(stack.weights) != len(STACK_FEATURES):
            raise ModelFileError(f"{where}: the reader's decision has the wrong size.")
        return model


@dataclass(frozen=True)
class ReadOutcome:
    """What the reader made of one question (kept for training and the bench)."""

    chosen: int  # index into the read candidates
    features: np.ndarray  # one row of STACK_FEATURES
    scores: np.ndarray  # the reader's probability per read candidate


def reader_inputs(candidates: list[Candidate]) -> list[ReaderInput]:
    """Each candidate with the sentence before it in its passage."""
    inputs = []
    for candidate in candidates:
        sentences = candidate.passage.chunk.sentences
        position = sentences.index(candidate.sentence)
        previous = sentences[position - 1].text if position > 0 else ""
        inputs.append(ReaderInput(candidate.sentence.text, previous))
    return inputs


def read(
    reader: Reader, question: str, decision: Decision, cross: bool, rank_weight: float
) -> ReadOutcome:
    """Read the top candidates of ``decision``."""
    top = decision.ranked[:READ_TOP]
    scores = reader.score(question, reader_inputs(top))
    ranker_scores = np.asarray(decision.scores[: len(top)])
    return outcome_from_scores(scores, ranker_scores, decision, cross, rank_weight)


def outcome_from_scores(
    scores: np.ndarray,
    ranker_scores: np.ndarray,
    decision: Decision,
    cross: bool,
    rank_weight: float,
) -> ReadOutcome:
    logits = np.array([logit(float(s)) for s in scores])
    combined = logits + rank_weight * (ranker_scores - ranker_scores[0])
    chosen = int(np.argmax(combined))
    others = np.delete(logits, chosen)
    second = float(others.max()) if len(others) else -_CLIP
    features = np.array(
        [
            logit(decision.probability),
            logits[chosen],
            second,
            logits[chosen] - second,
            float(chosen == 0),
            float(cross),
        ]
    )
    return ReadOutcome(chosen, features, scores)


def apply(model: ReadingModel, decision: Decision, outcome: ReadOutcome) -> Decision:
    """The decision after reading: the chosen candidate first, the stacked probability."""
    value = float(model.stack.score(outcome.features[None, :])[0])
    probability = 1.0 / (1.0 + math.exp(-max(min(value, 30.0), -30.0)))
    ranked = list(decision.ranked)
    ranked.insert(0, ranked.pop(outcome.chosen))
    scores = list(decision.scores)
    scores.insert(0, scores.pop(outcome.chosen))
    return replace(
        decision, ranked=ranked, probability=probability, scores=tuple(scores), read=True
    )


def needs_reading(model: ReadingModel, decision: Decision) -> bool:
    return bool(decision.ranked) and model.gate_low <= decision.probability <= model.gate_high


class Reading:
    """The reader with its fitted decision: what a stage calls after the linear decision."""

    def __init__(self, reader: Reader, model: ReadingModel) -> None:
        self.reader = reader
        self.model = model

    def refine(self, question: str, decision: Decision, cross: bool) -> Decision:
        if not needs_reading(self.model, decision):
            return decision
        outcome = read(self.reader, question, decision, cross, self.model.rank_weight)
        return apply(self.model, decision, outcome)


def reading_models(meta_path: Path = READER_META) -> dict[str, ReadingModel]:
    """The reader's fitted decisions, per main embedding model (none when never fitted)."""
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
    """The reader with its decision for ``model``; None when the reader has none for it
    (a model it was not fitted with, such as the tests' fake embedder)."""
    fitted = reading_models().get(model)
    if fitted is None:
        return None
    return Reading(_shared_reader(), fitted)
