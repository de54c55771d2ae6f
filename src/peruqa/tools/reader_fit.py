"""Fitting the reader's decision (``reading``) on questions asked through the real pipeline.

Each question goes through the main stage exactly as served (retrieval, candidates, the
linear ranker and decision); the reader then reads its top ``READ_TOP`` candidates. From
those rows this module fits how much the ranker's order counts against the reader, the
stacked logistic regression, the threshold and the gate, and scores them out of fold:
SQuAD articles in folds by article, the team's files each left out in turn.

Only questions the reader never trained on are used: the SQuAD articles held out from its
training and the team's question files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from peruqa.index.embedding import Embedder
from peruqa.index.store import load_index
from peruqa.qa.answering import quoted_sentences
from peruqa.qa.decision import Decider
from peruqa.qa.model import Linear, StageModel
from peruqa.qa.question import analyse
from peruqa.qa.reader import Reader
from peruqa.qa.reading import (
    READ_TOP,
    STACK_FEATURES,
    ReadingModel,
    outcome_from_scores,
    reader_inputs,
)
from peruqa.qa.retrieve import Retriever
from peruqa.tools.learn import balanced_weights, fit_logistic
from peruqa.tools.train_data import TOP_K, QuestionSet, _holds, index_for, question_vectors

RANK_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(11))  # 0.20 .. 0.70
GATES = ((0.0, 1.0), (0.05, 0.95), (0.1, 0.9), (0.15, 0.85), (0.2, 0.8), (0.3, 0.7))
FOLDS = 5
# At most this share of questions may be read: a read costs about twice the rest of a
# question's CPU, and the mean must stay within make bench's 40 ms.
READ_SHARE = 0.35


@dataclass
class ReadRows:
    """Per question: the old decision, the reader's and ranker's scores of the top
    candidates (padded with NaN), whether each one's quote holds an answer."""

    old: np.ndarray  # (n,) the linear decision's probability (0 without candidates)
    read: np.ndarray  # (n, READ_TOP) reader probabilities
    ranker: np.ndarray  # (n, READ_TOP) ranker scores
    holds: np.ndarray  # (n, READ_TOP) bool
    cross: np.ndarray  # (n,) bool
    answerable: np.ndarray
    group: np.ndarray
    language: np.ndarray
    source: np.ndarray

    def take(self, mask: np.ndarray) -> ReadRows:
        return ReadRows(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))


def read_rows(
    qset: QuestionSet,
    embedder: Embedder,
    model: StageModel,
    reader: Reader,
    work: Path,
    groups: frozenset[str] | None = None,
) -> ReadRows:
    """Ask the questions of ``qset`` (those of ``groups``, when given) through the main
    stage and read their top candidates."""
    suffix = "" if groups is None else "-" + "-".join(sorted(groups)).replace(":", "")
    cache = work / f"read-{qset.name}{suffix}-{embedder.name}.npz"
    if cache.is_file():
        with np.load(cache) as saved:
            return ReadRows(**{k: saved[k] for k in saved.files})
    data = load_index(index_for(qset, embedder, work), embedder.name)
    retriever = Retriever(data, embedder)
    decider = Decider(data, retriever.lexical, model)
    vectors = question_vectors(qset, embedder, work)
    if groups is not None:
        keep = [q.group in groups for q in qset.questions]
        vectors = vectors[np.asarray(keep, dtype=bool)]
        qset = replace(qset, questions=[q for q, k in zip(qset.questions, keep, strict=True) if k])
    n = len(qset.questions)
    rows = ReadRows(
        np.zeros(n),
        np.full((n, READ_TOP), np.nan),
        np.full((n, READ_TOP), np.nan),
        np.zeros((n, READ_TOP), dtype=bool),
        np.zeros(n, dtype=bool),
        np.asarray([q.answerable for q in qset.questions]),
        np.asarray([q.group for q in qset.questions]),
        np.asarray([q.language for q in qset.questions]),
        np.full(n, qset.name),
    )
    for i, (question, vector) in enumerate(zip(qset.questions, vectors, strict=True)):
        analysed = analyse(question.text)
        decision = decider.decide(retriever.retrieve(retriever.query_from(analysed, vector), TOP_K))
        if not decision.ranked:
            continue
        top = decision.ranked[:READ_TOP]
        rows.old[i] = decision.probability
        rows.read[i, : len(top)] = reader.score(question.text, reader_inputs(top))
        rows.ranker[i, : len(top)] = decision.scores[: len(top)]
        for j, candidate in enumerate(top):
            quote = " ".join(s.text for s in quoted_sentences(candidate))
            rows.holds[i, j] = _holds(quote, question.answers)
        rows.cross[i] = top[0].passage.document.language != analysed.language
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{f: getattr(rows, f) for f in rows.__dataclass_fields__})
    return rows


def concatenate(parts: Sequence[ReadRows]) -> ReadRows:
    fields = ReadRows.__dataclass_fields__
    return ReadRows(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


@dataclass(frozen=True)
class Stacked:
    features: np.ndarray  # (n, len(STACK_FEATURES))
    chosen_holds: np.ndarray  # whether the reader's choice holds an answer
    top_holds: np.ndarray  # whether the ranker's choice holds an answer
    has: np.ndarray  # the question had candidates


def stack(rows: ReadRows, rank_weight: float) -> Stacked:
    from peruqa.qa.decision import Decision

    n = len(rows.old)
    features = np.zeros((n, len(STACK_FEATURES)))
    chosen_holds = np.zeros(n, dtype=bool)
    has = ~np.isnan(rows.read[:, 0])
    for i in np.flatnonzero(has):
        width = int((~np.isnan(rows.read[i])).sum())
        decision = Decision([], float(rows.old[i]), tuple(rows.ranker[i, :width]))
        outcome = outcome_from_scores(
            rows.read[i, :width],
            rows.ranker[i, :width],
            decision,
            bool(rows.cross[i]),
            rank_weight,
        )
        features[i] = outcome.features
        chosen_holds[i] = rows.holds[i, outcome.chosen]
    return Stacked(features, chosen_holds, rows.holds[:, 0], has)


def _folds(rows: ReadRows) -> list[np.ndarray]:
    squad = np.char.startswith(rows.source.astype(str), "squad")
    articles = sorted(set(rows.group[squad]))
    folds = [
        squad & np.isin(rows.group, articles[f::FOLDS]) for f in range(min(FOLDS, len(articles)))
    ]
    folds += [rows.source == name for name in sorted(set(rows.source[~squad]))]
    return [f for f in folds if f.any()]


def _fit(rows: ReadRows, stacked: Stacked, mask: np.ndarray) -> Linear:
    use = mask & stacked.has
    # The label: the chosen quote answers (answerable questions whose quote holds an answer).
    labels = rows.answerable[use] & stacked.chosen_holds[use]
    team = ~np.char.startswith(rows.source[use].astype(str), "squad")
    weights = balanced_weights(rows.answerable[use], rows.source[use], 1.0 + 2.0 * team)
    return fit_logistic(stacked.features[use], labels, weights, l2=1.0)


def out_of_fold(rows: ReadRows, stacked: Stacked) -> np.ndarray:
    probability = np.zeros(len(rows.old))
    for test in _folds(rows):
        linear = _fit(rows, stacked, ~test)
        scored = test & stacked.has
        value = linear.score(stacked.features[scored])
        probability[scored] = 1 / (1 + np.exp(-np.clip(value, -30, 30)))
    return probability


def scores(
    rows: ReadRows, answered: np.ndarray, right: np.ndarray, mask: np.ndarray
) -> dict[str, float]:
    yes, no = mask & rows.answerable, mask & ~rows.answerable
    answerable_right = float((answered & right)[yes].mean()) if yes.any() else float("nan")
    declined = float((~answered)[no].mean()) if no.any() else float("nan")
    total = int(mask.sum())
    overall = float(((answered & right) | (~answered & ~rows.answerable))[mask].mean())
    return {
        "answerable_right": answerable_right,
        "declined": declined,
        "overall": overall,
        "questions": total,
    }


def final_outcome(
    rows: ReadRows, stacked: Stacked, oof: np.ndarray, gate: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question: final probability, whether the final quote holds, whether it was read."""
    read = stacked.has & (rows.old >= gate[0]) & (rows.old <= gate[1])
    probability = np.where(read, oof, rows.old)
    holds = np.where(read, stacked.chosen_holds, stacked.top_holds)
    return probability, holds, read


def fit_reading(
    rows: ReadRows, echo: Callable[[str], None] = print, read_share: float = READ_SHARE
) -> ReadingModel:
    """Fit every part, print out-of-fold figures, and return the model to ship."""
    answerable = rows.answerable & ~np.isnan(rows.read[:, 0])
    best_weight, best_top = 0.0, -1.0
    for weight in RANK_WEIGHTS:
        top = float(stack(rows, weight).chosen_holds[answerable].mean())
        echo(f"  rank weight {weight}: reader's choice holds the answer {top:.3f}")
        if top > best_top + 1e-9:
            best_weight, best_top = weight, top
    stacked = stack(rows, best_weight)
    oof = out_of_fold(rows, stacked)
    team = ~np.char.startswith(rows.source.astype(str), "squad")
    chosen: tuple[tuple[float, float], float] | None = None
    best_value = -1.0
    for gate in GATES:
        probability, holds, read = final_outcome(rows, stacked, oof, gate)
        for threshold in THRESHOLDS:
            answered = probability >= threshold
            values = []
            for language in sorted(set(rows.language[team])):
                mask = team & (rows.language == language)
                s = scores(rows, answered, holds, mask)
                values += [s["answerable_right"], s["declined"]]
            squad = scores(rows, answered, holds, ~team)
            worst = float(np.nanmin(values)) if values else squad["overall"]
            value = 0.5 * worst + 0.5 * squad["overall"]
            if read.mean() <= read_share + 1e-9 and value > best_value + 1e-9:
                best_value, chosen = value, (gate, threshold)
    assert chosen is not None
    gate, threshold = chosen
    probability, holds, read = final_outcome(rows, stacked, oof, gate)
    answered = probability >= threshold
    echo(f"  chosen: rank weight {best_weight}, gate {gate}, threshold {threshold}")
    for label, mask in (("SQuAD held-out articles", ~team), ("team files", team)):
        for language in sorted(set(rows.language[mask])):
            m = mask & (rows.language == language)
            s = scores(rows, answered, holds, m)
            echo(
                f"  {label} [{language}] out of fold: overall {s['overall']:.3f}  "
                f"answerable answered-and-right {s['answerable_right']:.3f}  "
                f"unanswerable declined {s['declined']:.3f}  read {read[m].mean():.2f}  "
                f"[{s['questions']}]"
            )
    linear = _fit(rows, stacked, np.ones(len(rows.old), dtype=bool))
    return ReadingModel(best_weight, linear, threshold, gate[0], gate[1])


def decision_entry(model: ReadingModel) -> dict[str, object]:
    return {
        "rank_weight": model.rank_weight,
        "stack": {
            "mean": list(model.stack.mean),
            "scale": list(model.stack.scale),
            "weights": list(model.stack.weights),
            "bias": model.stack.bias,
        },
        "features": list(STACK_FEATURES),
        "threshold": model.threshold,
        "gate_low": model.gate_low,
        "gate_high": model.gate_high,
    }


def write_decision(meta_path: Path, name: str, model: ReadingModel) -> None:
    """Add the fitted decision for main model ``name`` to the reader's metadata file."""
    meta = json.loads(meta_path.read_text())
    meta.setdefault("decision", {})[name] = decision_entry(model)
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
