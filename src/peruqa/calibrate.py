"""Calibrate answer selection and abstention on a development question file.

    python -m peruqa.calibrate eval/dev_qa.jsonl

Prints sentence-score weights (grid search: how often the top sentence holds the expected
answer) and confidence weights (logistic regression: answer right vs. decline), to be copied
into ``peruqa.answer``. Calibrate on questions you do not report on; the held-out and shared
files measure the result.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from peruqa.answer import _FEATURES, _STRICT_TYPES, SENTENCE_WEIGHTS, Candidate, confidence_features
from peruqa.answer_types import AnswerType
from peruqa.config import get_settings
from peruqa.evaluate import EvalItem, load_items
from peruqa.language import fold
from peruqa.retrieve import Retrieval
from peruqa.service import QAService


@dataclass
class Case:
    item: EvalItem
    retrieval: Retrieval
    candidates: list[Candidate]
    wanted: AnswerType


def _holds(candidate: Candidate, expected: str | None) -> bool:
    return bool(expected) and fold(str(expected)) in fold(candidate.sentence.text)


def _rank(case: Case, weights: dict[str, float]) -> list[Candidate]:
    kf = case.retrieval.query.known_fraction

    def score(c: Candidate) -> float:
        return (
            weights["similarity"] * c.similarity
            + weights["coverage"] * c.coverage * kf
            + weights["type"] * c.typed
            + weights["passage"] * c.passage.score
            + weights["label"] * c.label
        )

    rescored = [
        Candidate(c.sentence, c.passage, score(c), c.similarity, c.coverage, c.typed, c.label)
        for c in case.candidates
    ]
    ranked = sorted(rescored, key=lambda c: c.score, reverse=True)
    if case.wanted in _STRICT_TYPES and any(c.typed for c in ranked):
        ranked = [c for c in ranked if c.typed] + [c for c in ranked if not c.typed]
    return ranked


def main(path: str) -> None:
    service = QAService(get_settings())
    snapshot = service.snapshot
    cases = []
    for item in load_items(Path(path)):
        retrieval = snapshot.retriever.search(item.question, service.settings.top_k)
        candidates, wanted = snapshot.answerer.candidates(retrieval)
        cases.append(Case(item, retrieval, candidates, wanted))
    answerable = [c for c in cases if c.item.answerable]

    grid = {
        "similarity": [1.0],
        "coverage": [0.0, 0.15, 0.3, 0.45, 0.6],
        "type": [0.0, 0.05, 0.1, 0.15, 0.2, 0.3],
        "passage": [0.0, 0.25, 0.5, 0.75, 1.0],
        "label": [0.0, -0.05, -0.1, -0.2],
    }
    best_weights, best_hits = dict(SENTENCE_WEIGHTS), -1
    for values in itertools.product(*grid.values()):
        weights = dict(zip(grid, values, strict=True))
        hits = sum(_holds(_rank(c, weights)[0], c.item.answer) for c in answerable if c.candidates)
        if hits > best_hits:
            best_weights, best_hits = weights, hits
    print(f"sentence weights {best_weights}: top sentence right {best_hits}/{len(answerable)}")

    rows, labels = [], []
    for case in cases:
        ranked = _rank(case, best_weights)
        if not ranked:
            continue
        rows.append(
            confidence_features(
                ranked, case.wanted, case.retrieval, snapshot.retriever.lexical.document_frequency
            )
        )
        labels.append(case.item.answerable and _holds(ranked[0], case.item.answer))
    from sklearn.linear_model import LogisticRegression

    features = np.asarray(rows)
    # Fit on standardised features so regularisation treats them alike, then fold the
    # scaling back into plain weights over the raw features.
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=5000).fit((features - mean) / scale, labels)
    raw = model.coef_[0] / scale
    weights = {"bias": float(model.intercept_[0] - np.sum(model.coef_[0] * mean / scale))}
    weights.update({n: float(w) for n, w in zip(_FEATURES, raw, strict=True)})
    print("confidence weights", {k: round(v, 3) for k, v in weights.items()})
    probabilities = model.predict_proba((features - mean) / scale)[:, 1]
    for threshold in np.arange(0.2, 0.75, 0.05):
        answered = probabilities >= threshold
        right = sum(a and label for a, label in zip(answered, labels, strict=True))
        declined_bad = sum(
            (not a) and (not label) for a, label in zip(answered, labels, strict=True)
        )
        print(f"threshold {threshold:.2f}: right answers {right}, good declines {declined_bad}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "eval/dev_qa.jsonl")
