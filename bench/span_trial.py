"""Issue 21's span head (``lab/reader_span``): grown from a passage run, trained on SQuAD's
gold paragraphs, measured as ``bench/passage_trial.py`` measures the passage reader: how
often its best span lies in the answering sentence, on the measure-only SQuAD articles (a
seeded sample of 300 during training, all at the end), and how well the best span's margin
over the null score separates the answerable questions it reads right from the
unanswerable ones (AUC). Run it with the machine to itself.

    .venv/bin/python bench/span_trial.py --init data/reader-trial2/english2 \\
        --passage data/passage3 --work data/span --max-items 6000
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

from passage_trial import auc
from reader_curve import record

from peruqa.lab.reader_data import read_squad
from peruqa.lab.reader_pipeline import training_articles
from peruqa.lab.reader_span import (
    SpanOptions,
    load_span_network,
    read_spans,
    span_items,
    train_span,
)
from peruqa.lab.roles import load_roles
from peruqa.lab.train_data import held_out_articles

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--init", type=Path, required=True, help="a pairwise stage's folder")
    parser.add_argument("--passage", type=Path, required=True, help="a passage run's folder")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--max-items", type=int, default=6000)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--resume-span", type=Path, help="a span run's work folder")
    args = parser.parse_args()

    roles = load_roles(ROOT)
    network, tokenizer = load_span_network(args.init, args.passage, args.resume_span)
    held = [
        a
        for a in read_squad(roles.squad_folder / "squad2-dev-subset.json")
        if a["title"] in held_out_articles()
    ]
    measured = [i for i in span_items(held) if len(i.sentences) >= 2 or not i.gold]
    answerable = [i for i in measured if i.gold]
    sample = random.Random(7).sample(answerable, min(300, len(answerable)))
    started = time.perf_counter()

    def first(model: Any, items: list[Any]) -> float:
        return sum(read_spans(model, tokenizer, i)[0] in i.gold for i in items) / len(items)

    def evaluate(model: Any, seen: int) -> None:
        minutes = (time.perf_counter() - started) / 60
        record(
            f"span\tquestions {seen}\ttrain+eval minutes {minutes:.1f}\t"
            f"first (sample of {len(sample)}) {first(model, sample):.3f}"
        )

    options = SpanOptions(
        max_items=args.max_items, learning_rate=args.learning_rate, evaluate_every=args.every
    )
    record(f"# {time.strftime('%Y-%m-%d %H:%M')} span head from {args.passage}: {options}")
    items = span_items(training_articles(roles.squad_folder))
    train_span(network, tokenizer, items, args.work, options, print, evaluate)
    right, unanswerable, hits = [], [], 0
    for item in measured:
        sentence, margin, _ = read_spans(network, tokenizer, item)
        if not item.gold:
            unanswerable.append(margin)
        elif sentence in item.gold:
            hits += 1
            right.append(margin)
    record(f"end\tspan first, all {len(answerable)}: {hits / len(answerable):.3f}")
    record(
        f"end\tnull-score margin AUC, answered right ({len(right)}) against unanswerable "
        f"({len(unanswerable)}): {auc(right, unanswerable):.3f}"
    )


if __name__ == "__main__":
    main()
