"""Calibrate answer selection and abstention on a development question file.

    python -m peruqa.tools.calibrate eval/dev_qa.jsonl

Prints sentence-score weights (grid search: how often the top sentence holds the expected
answer) and confidence weights (logistic regression: answer right vs. decline), to be copied
into ``calibration.json``. Calibrate on questions you do not report on; the held-out and shared
files measure the result.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from peruqa.config import get_settings
from peruqa.index.data import build_index_data
from peruqa.index.embedding import make_embedder
from peruqa.ingest.documents import load_documents
from peruqa.qa.answering import quoted_sentences
from peruqa.qa.candidates import Candidate, gather_candidates, rank_candidates
from peruqa.qa.decision import CALIBRATION_FILE, FEATURES, confidence_features
from peruqa.qa.retrieve import Retrieval
from peruqa.qa.service import QAService
from peruqa.text.language import fold
from peruqa.tools.evaluate import EvalItem, load_items


@dataclass
class Case:
    item: EvalItem
    retrieval: Retrieval
    candidates: list[Candidate]


def _holds(candidate: Candidate, expected: str | None) -> bool:
    quoted = " ".join(s.text for s in quoted_sentences(candidate))
    return bool(expected) and fold(str(expected)) in fold(quoted)


def _rank(case: Case, weights: dict[str, float]) -> list[Candidate]:
    return rank_candidates(
        case.candidates, case.retrieval.query.question, weights, case.retrieval.query.known_fraction
    )


def _cases(service: QAService, paths: list[str]) -> list[Case]:
    snapshot = service.snapshot
    cases = []
    for path in paths:
        for item in load_items(Path(path)):
            retrieval = snapshot.retriever.search(item.question, service.settings.top_k)
            weights = snapshot.answerer.calibration.sentence_weights
            candidates = gather_candidates(
                retrieval, snapshot.data, snapshot.retriever.lexical, weights
            )
            cases.append(Case(item, retrieval, candidates))
    return cases


def fit_sentence_weights(cases: list[Case]) -> dict[str, float]:
    """Grid search: the weights under which the top sentence most often holds the answer."""
    grid = {
        "similarity": [1.0],
        "coverage": [0.0, 0.15, 0.3, 0.45, 0.6],
        "type": [0.0, 0.05, 0.1, 0.2],
        "passage": [0.0, 0.25, 0.5, 0.75, 1.0],
        "label": [0.0, -0.05, -0.1, -0.2],
        "novelty": [0.0, 0.1, 0.2, 0.3],
    }
    answerable = [c for c in cases if c.item.answerable and c.candidates]
    best: tuple[int, dict[str, float]] = (-1, {})
    for values in itertools.product(*grid.values()):
        weights = dict(zip(grid, values, strict=True))
        hits = sum(_holds(_rank(c, weights)[0], c.item.answer) for c in answerable)
        if hits > best[0]:
            best = (hits, weights)
    print(f"sentence weights {best[1]}: top sentence right {best[0]}/{len(answerable)}")
    return best[1]


def fit_confidence(
    cases: list[Case], sentence_weights: dict[str, float], known: dict[str, int]
) -> tuple[dict[str, float], float]:
    """Logistic regression separating answerable questions whose top sentence holds the
    answer from unanswerable ones, and the threshold that gets the most of them right.

    Answerable questions whose top sentence misses are left out: answering or declining
    them scores the same, and they blur the line between the two cases that matter.
    """
    from sklearn.linear_model import LogisticRegression

    rows, labels = [], []
    for case in cases:
        ranked = _rank(case, sentence_weights)
        if not ranked:
            continue
        right = case.item.answerable and _holds(ranked[0], case.item.answer)
        if case.item.answerable and not right:
            continue
        rows.append(confidence_features(ranked, case.retrieval, known))
        labels.append(right)
    features = np.asarray(rows)
    # Fit on standardised features so regularisation treats them alike, then fold the
    # scaling back into plain weights over the raw features.
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=5000).fit((features - mean) / scale, labels)
    raw = model.coef_[0] / scale
    weights = {"bias": float(model.intercept_[0] - np.sum(model.coef_[0] * mean / scale))}
    weights.update({n: round(float(w), 4) for n, w in zip(FEATURES, raw, strict=True)})
    probabilities = model.predict_proba((features - mean) / scale)[:, 1]
    outcomes = []
    for threshold in np.arange(0.15, 0.8, 0.05):
        answered = probabilities >= threshold
        answers = int(np.sum(answered & np.asarray(labels)))
        declines = int(np.sum(~answered & ~np.asarray(labels)))
        print(f"threshold {threshold:.2f}: right answers {answers}, right declines {declines}")
        outcomes.append((answers + declines, float(threshold)))
    # Few questions make the count flat over a range of thresholds; the middle of the
    # near-best range is less tuned to these particular questions than either end.
    top = max(count for count, _ in outcomes)
    plateau = [threshold for count, threshold in outcomes if count >= top - 1]
    return weights, round(float(np.median(plateau)), 2)


def main(paths: list[str]) -> None:
    settings = get_settings()
    embedder = make_embedder(settings.model, threads=settings.build_processes)
    loaded = load_documents(settings.source_dir)
    data = build_index_data(loaded.documents, embedder, settings)
    service = QAService(settings, embedder)
    service.use_index(data)
    cases = _cases(service, paths)
    sentence_weights = fit_sentence_weights(cases)
    known = dict(service.snapshot.retriever.lexical.document_frequency)
    confidence_weights, threshold = fit_confidence(cases, sentence_weights, known)
    print(f"threshold {threshold}; confidence weights {confidence_weights}")
    entries = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else {}
    entries[embedder.name] = {
        "calibrated_on": [Path(p).name for p in paths],
        "sentence_weights": sentence_weights,
        "confidence_weights": confidence_weights,
        "threshold": threshold,
    }
    CALIBRATION_FILE.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {CALIBRATION_FILE} [{embedder.name}]")


if __name__ == "__main__":
    main(sys.argv[1:] or ["eval/dev_qa.jsonl"])
