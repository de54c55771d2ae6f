"""Issue 21: would the passage reader earn its place in the served decision?

The held-out articles' and the fit files' questions go through the real pipeline (as
``peruqa train --reader`` asks them); the passage reader (``lab/reader_passage``) reads the
ranker's top candidate's passage, and each of its sentences gets the probability that it,
rather than no answer, answers. The stack of ``lab/reader_fit`` is then fitted out of fold
for each band of linear probabilities, exactly as for the pairwise reader, and compared with
the linear decision at the served threshold and at its own best one. The reader's CPU cost
per passage (int8, one thread) is timed on the same passages, so that a band's mean cost per
question can be read against make bench's budget. Run it with the machine to itself.

    .venv/bin/python bench/passage_decision.py --init data/reader-trial2/english2 \\
        --passage data/passage3
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
from reader_curve import record

from peruqa.index.embedding import make_embedder
from peruqa.lab.reader_fit import (
    BANDS,
    SQUAD_PREFIX,
    THRESHOLDS,
    decide,
    first_shares,
    out_of_fold,
    report,
    summarise,
)
from peruqa.lab.reader_passage import CHECKPOINT, PassageReads, load_passage_network, score_passage
from peruqa.lab.reader_pipeline import MAIN_MODEL, SQUAD_DEV, _held_out_groups
from peruqa.lab.reader_rows import ReadRows, concatenate, read_rows
from peruqa.lab.roles import Role, load_roles
from peruqa.lab.train_data import file_set, squad_set
from peruqa.qa.model import load_stage_model
from peruqa.qa.reader import quantised_layers

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ROOT / "docs_source"
WORK = ROOT / "data" / "train"


def load_network(init: Path, passage: Path, quantise: bool) -> tuple[object, object, str]:
    import torch

    network, tokenizer = load_passage_network(init, passage)
    network.eval()
    if quantise:
        network = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            network, set(quantised_layers(network)), dtype=torch.qint8
        )
    digest = hashlib.sha256((passage / CHECKPOINT).read_bytes()).hexdigest()[:16]
    return network, tokenizer, f"passage-{digest}-{'int8' if quantise else 'float'}"


def passage_cost(reads: PassageReads, questions: list[tuple[str, list[str]]]) -> float:
    """Mean CPU milliseconds of one passage read (one thread)."""
    started = time.process_time()
    for question, sentences in questions:
        score_passage(reads.network, reads.tokenizer, question, sentences)
    return 1000 * (time.process_time() - started) / max(len(questions), 1)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--init", type=Path, required=True, help="the pairwise stage it grew from")
    parser.add_argument("--passage", type=Path, required=True, help="a passage run's work folder")
    parser.add_argument("--float", action="store_true", help="read in float32, not int8")
    args = parser.parse_args()

    torch.set_num_threads(1)
    roles = load_roles(ROOT)
    network, tokenizer, digest = load_network(args.init, args.passage, not args.float)
    reads = PassageReads(network, tokenizer, digest)
    embedder = make_embedder(MAIN_MODEL, threads=1)
    model = load_stage_model(MAIN_MODEL)
    folder = WORK / MAIN_MODEL
    squad = squad_set(roles.squad_folder / "squad2-dev-subset.json", SQUAD_DEV)
    started = time.perf_counter()
    parts: list[ReadRows] = [
        read_rows(squad, embedder, model, reads, folder, _held_out_groups(roles.squad_folder))
    ]
    parts += [
        read_rows(file_set(path, DOCUMENTS), embedder, model, reads, folder)
        for path in roles.with_role(Role.FIT)
    ]
    rows = concatenate(parts)
    minutes = (time.perf_counter() - started) / 60
    record(f"# {time.strftime('%Y-%m-%d %H:%M')} passage decision, {digest}, {minutes:.1f} min")

    threshold = model.threshold
    squad_rows = np.char.startswith(rows.group.astype(str), SQUAD_PREFIX)
    ranker, reader, count = first_shares(rows)
    record(
        f"answering quote first in the top passage: ranker {ranker:.3f}, reader {reader:.3f}"
        f" ({count} answerable with one there)"
    )
    report(rows, None, threshold, "fit rows", record)
    alone = summarise(rows, decide(rows, None, threshold))
    record(f"linear at {threshold:.2f}: {alone.line()}")
    moved = max(THRESHOLDS, key=lambda t: summarise(rows, decide(rows, None, t)).overall)
    record(f"linear at its best {moved:.2f}: {summarise(rows, decide(rows, None, moved)).line()}")
    for band in BANDS:
        decided = out_of_fold(rows, band, threshold, reads.width)
        record(f"band {band[0]:.2f}-{band[1]:.2f} out of fold: {summarise(rows, decided).line()}")
        record(f"    held-out articles: {summarise(rows, decided, squad_rows).line()}")

    cost = passage_cost(reads, _sample_passages(roles.squad_folder))
    record(f"passage read cost: {cost:.1f} ms CPU (one thread, {digest.rsplit('-', 1)[1]})")


def _sample_passages(squad_folder: Path) -> list[tuple[str, list[str]]]:
    """A hundred held-out questions with a 700-character window of their paragraph, the
    size of a served chunk."""
    from peruqa.ingest.chunking import split_sentences
    from peruqa.lab.reader_data import read_squad
    from peruqa.lab.train_data import held_out_articles

    out: list[tuple[str, list[str]]] = []
    for article in read_squad(squad_folder / "squad2-dev-subset.json"):
        if article["title"] not in held_out_articles():
            continue
        for paragraph in article["paragraphs"]:
            window: list[str] = []
            for sentence in split_sentences(paragraph["context"]):
                if sum(map(len, window)) + len(sentence.text) > 700:
                    break
                window.append(sentence.text)
            out.append((paragraph["qas"][0]["question"], window))
    return out[:100]


if __name__ == "__main__":
    main()
