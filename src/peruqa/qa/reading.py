"""Read before deciding: where the linear decision is unsure, the reader reads and decides.

The linear ranker and decision (``decision``) are cheap and count shared words; the reader
(``reader``) reads the question with each sentence, which chooses better but costs a
forward pass of a 12-layer transformer. So the reader reads only questions whose linear
probability falls in a fitted ``band``: it reads the ranker's top ``read_top`` candidates,
re-chooses the quote (its log-odds plus ``rank_weight`` × the ranker's lead), and a small
logistic stack over both models' scores (``STACK_FEATURES``) gives the probability that
the chosen quote answers. Outside the band the linear decision stands unread.

Everything here is fitted by ``peruqa train --reader`` out of fold (held-out SQuAD
articles and the team's files, asked through the real pipeline) and stored in
``reader.json`` under ``"decision"``, per main embedding model; ``null`` there means the
stack did not beat the linear decision, and the reader is never called.
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
from peruqa.qa.model import Linear, parse_linear
from peruqa.qa.reader import READER_META, Reader

# The most candidates the reader reads: the ranker's top few nearly always hold the answer,
# and each read costs a forward pass (docs/reader.md has the share). The fit chooses how
# many of them (``ReadingModel.read_top``) within the CPU budget.
READ_TOP = 4
STACK_FEATURES = ("decision", "reader_chosen", "reader_runner_up", "reader_margin", "cross")
_CLIP = 8.0


def logit(probability: float) -> float:
    p = min(max(probability, 1e-4), 1 - 1e-4)
    return max(-_CLIP, min(_CLIP, math.log(p / (1 - p))))


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(value, 30.0), -30.0)))


@dataclass(frozen=True)
class ReadingModel:
    """Where the reader reads, how it chooses, and how the stack decides."""

    band: tuple[float, float]  # linear probabilities (inclusive) whose questions are read
    rank_weight: float  # added to the reader's log-odds per unit of ranker lead
    stack: Linear  # log-odds that the chosen quote answers, over ``STACK_FEATURES``
    threshold: float  # the stack's own answer threshold (fitted with it)
    read_top: int = READ_TOP  # how many of the ranker's first candidates it reads

    @classmethod
    def from_entry(cls, entry: Any, where: str) -> ReadingModel | None:
        if entry is None:
            return None
        try:
            low, high = (float(v) for v in entry["band"])
            weight = float(entry["rank_weight"])
            threshold = float(entry["threshold"])
            read_top = int(entry.get("read_top", READ_TOP))
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: the reader's decision is incomplete.") from error
        if not 0.0 <= low <= high <= 1.0 or not 0.0 < threshold < 1.0:
            raise ModelFileError(f"{where}: the reader's band or threshold is outside 0..1.")
        if not math.isfinite(weight) or weight < 0:
            raise ModelFileError(f"{where}: the reader's rank weight is not a weight.")
        if not 1 <= read_top <= READ_TOP:
            raise ModelFileError(f"{where}: the reader reads 1 to {READ_TOP} candidates.")
        stack = parse_linear(entry.get("stack"), len(STACK_FEATURES), f"{where} stack")
        return cls((low, high), weight, stack, threshold, read_top)

    def entry(self) -> dict[str, Any]:
        return {
            "band": list(self.band),
            "rank_weight": self.rank_weight,
            "threshold": self.threshold,
            "read_top": self.read_top,
            "stack": {
                "mean": list(self.stack.mean),
                "scale": list(self.stack.scale),
                "weights": list(self.stack.weights),
                "bias": self.stack.bias,
            },
        }

    def reads(self, probability: float) -> bool:
        return self.band[0] <= probability <= self.band[1]


def reader_inputs(candidates: list[Candidate]) -> tuple[list[str], list[str]]:
    """What the reader reads of each candidate: its sentence, and the sentence before it in
    its passage ("" for the first; only a reader trained with context reads it)."""
    before = []
    for candidate in candidates:
        sentences = candidate.passage.chunk.sentences
        at = next((i for i, s in enumerate(sentences) if s.start == candidate.sentence.start), 0)
        before.append(sentences[at - 1].text if at > 0 else "")
    return [candidate.sentence.text for candidate in candidates], before


def choose(read: np.ndarray, ranker: np.ndarray, weight: float) -> int:
    """The candidate whose reader log-odds plus ``weight`` × its ranker lead is highest."""
    combined = [
        logit(float(r)) + weight * float(s - ranker[0]) for r, s in zip(read, ranker, strict=True)
    ]
    return int(np.argmax(combined))


def stack_row(decision: float, read: np.ndarray, chosen: int, cross: bool) -> np.ndarray:
    """``STACK_FEATURES`` for one question: the linear probability, the reader's log-odds
    of the chosen candidate and of the best other one, their margin, across languages."""
    mine = logit(float(read[chosen]))
    others = [logit(float(r)) for i, r in enumerate(read) if i != chosen]
    runner_up = max(others) if others else -_CLIP
    return np.array([logit(decision), mine, runner_up, mine - runner_up, float(cross)])


class Reading:
    """The reader with its fitted band, weight and stack: what the main stage calls."""

    def __init__(self, reader: Reader, model: ReadingModel) -> None:
        self.reader = reader
        self.model = model

    def refine(self, question: str, decision: Decision, cross: bool, threshold: float) -> Decision:
        """The decision re-chosen and re-decided by the reader, when the linear one is unsure.

        The stack's probability is re-centred on ``threshold`` (the answer threshold in
        force), so that one threshold decides read and unread questions alike."""
        model = self.model
        if not decision.ranked or not model.reads(decision.probability):
            return decision
        top = decision.ranked[: model.read_top]
        read = self.reader.score(question, *reader_inputs(top))
        chosen = choose(read, np.asarray(decision.scores[: len(top)]), model.rank_weight)
        row = stack_row(decision.probability, read, chosen, cross)
        odds = float(model.stack.score(row[None, :])[0])
        probability = sigmoid(odds - logit(model.threshold) + logit(threshold))
        ranked, scores = list(decision.ranked), list(decision.scores)
        ranked.insert(0, ranked.pop(chosen))
        scores.insert(0, scores.pop(chosen))
        return replace(decision, ranked=ranked, scores=tuple(scores), probability=probability)


def reading_models(meta_path: Path = READER_META) -> dict[str, ReadingModel | None]:
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
    """The reader with its decision for ``model``; None when it has none for it (a model it
    was not fitted with, such as the tests' fake embedder) or would never read."""
    fitted = reading_models().get(model)
    if fitted is None:
        return None
    return Reading(_shared_reader(), fitted)
