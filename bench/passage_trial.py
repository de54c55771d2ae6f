"""Issue 21's passage reader (``lab/reader_passage``): trained from a pairwise reader's
checkpoint, measured as the curve measures the pairwise reader: how often the answering
sentence comes first among its gold paragraph's sentences, on the measure-only SQuAD
articles (a seeded sample of 300 during training, all at the end), and how well its
no-answer score separates their answerable questions from the unanswerable ones (AUC).
Run it with the machine to itself.

    .venv/bin/python bench/passage_trial.py --init data/reader-trial2/english2 \\
        --work data/passage --max-items 6000
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
from reader_curve import record

from peruqa.index.embedding import make_embedder
from peruqa.lab.reader_data import read_spanish, read_squad
from peruqa.lab.reader_passage import (
    PassageOptions,
    first_share,
    load_passage_network,
    score_items,
    train_passage,
)
from peruqa.lab.reader_passage_items import in_spanish, passage_items, pipeline_items
from peruqa.lab.reader_pipeline import MAIN_MODEL, SQUAD_DEV, training_articles
from peruqa.lab.roles import load_roles
from peruqa.lab.train_data import held_out_articles, squad_set
from peruqa.qa.model import load_stage_model

ROOT = Path(__file__).resolve().parents[1]


def auc(positive: list[float], negative: list[float]) -> float:
    """Probability that a random positive scores above a random negative."""
    values = np.asarray(positive + negative)
    ranks = values.argsort().argsort() + 1.0
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / max(n_pos * n_neg, 1))


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--init", type=Path, required=True, help="a pairwise stage's folder")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--max-items", type=int, default=6000)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--skip-items", type=int, default=0)
    parser.add_argument("--resume-passage", type=Path, help="a passage run's work folder")
    parser.add_argument(
        "--spanish-share",
        type=float,
        default=0.0,
        help="share of training questions asked in a Spanish wording (the team's translations"
        " and --apertium's)",
    )
    parser.add_argument("--apertium", type=Path, help="Apertium wordings (lab/apertium) to add")
    parser.add_argument("--seed", type=int, default=13, help="the training order's seed")
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="train on the passage the served ranker puts first (lab/reader_passage"
        ".pipeline_items), not the gold paragraph",
    )
    args = parser.parse_args()

    roles = load_roles(ROOT)
    network, tokenizer = load_passage_network(args.init, args.resume_passage)

    held = [
        a
        for a in read_squad(roles.squad_folder / "squad2-dev-subset.json")
        if a["title"] in held_out_articles()
    ]
    measured = [i for i in passage_items(held) if len(i.sentences) >= 2 or not i.gold]
    answerable = [i for i in measured if i.gold]
    sample = random.Random(7).sample(answerable, min(300, len(answerable)))
    started = time.perf_counter()

    def evaluate(model: Any, seen: int) -> None:
        minutes = (time.perf_counter() - started) / 60
        share = first_share(model, tokenizer, sample)
        record(
            f"passage\tquestions {seen}\ttrain+eval minutes {minutes:.1f}\t"
            f"first (sample of {len(sample)}) {share:.3f}"
        )

    options = PassageOptions(
        max_items=args.max_items,
        skip_items=args.skip_items,
        learning_rate=args.learning_rate,
        evaluate_every=args.every,
        seed=args.seed,
    )
    source = args.resume_passage or args.init
    record(f"# {time.strftime('%Y-%m-%d %H:%M')} passage reader from {source}: {options}")
    network.eval()
    evaluate(network, 0)
    if args.pipeline:
        embedder = make_embedder(MAIN_MODEL, threads=2)
        model = load_stage_model(MAIN_MODEL)
        items = [
            item
            for name, subset in (("squad-train", "train"), (SQUAD_DEV, "dev"))
            for item in pipeline_items(
                squad_set(roles.squad_folder / f"squad2-{subset}-subset.json", name),
                embedder,
                model,
                ROOT / "data" / "train" / MAIN_MODEL,
            )
        ]
        record(
            f"pipeline items {len(items)}: {sum(not i.gold for i in items)} with no answer"
            " in the top passage"
        )
    else:
        items = passage_items(training_articles(roles.squad_folder))
    if args.spanish_share:
        wordings = [*roles.translations, *([args.apertium] if args.apertium else [])]
        items = in_spanish(items, read_spanish(wordings), args.spanish_share, args.seed)
    train_passage(network, tokenizer, items, args.work, options, print, evaluate)
    share = first_share(network, tokenizer, answerable)
    record(f"end\tpassage first, all {len(answerable)}: {share:.3f}")
    scored = score_items(network, tokenizer, measured)
    margin = [float(s[:-1].max() - s[-1]) for s in scored]
    right, unanswerable = [], []
    for value, scores, item in zip(margin, scored, measured, strict=True):
        if not item.gold:
            unanswerable.append(value)
        elif int(np.argmax(scores[:-1])) in item.gold:
            right.append(value)
    record(
        f"end\tno-answer margin AUC, answered right ({len(right)}) against unanswerable "
        f"({len(unanswerable)}): {auc(right, unanswerable):.3f}"
    )


if __name__ == "__main__":
    main()
