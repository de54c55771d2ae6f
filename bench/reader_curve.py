"""The reader's learning curve: pairs trained (and minutes) against the held-out figure.

Trains the reader in stages, each continuing from the last, and measures every ``--every``
steps how often the answering sentence comes first among its gold paragraph's sentences,
on a seeded sample of the measure-only SQuAD articles' questions (all of them at the end
of each stage). Run it with the machine to itself: the minutes are part of the result.

    .venv/bin/python bench/reader_curve.py --work data/reader-curve \\
        --stage recipe:negatives=1,max_pairs=6000 \\
        --stage scale:negatives=all,generated=1,apertium=1,max_pairs=24000,learning_rate=2e-5

A stage's options are ``TrainOptions`` fields, plus ``apertium=1`` (Apertium's Spanish
wordings of every training question, with their casual forms) and ``team_spanish=0`` (leave
out the team's translations). Checkpoints live in the work folder: a rerun resumes, and a
finished stage is read back, not retrained. Lines are appended to
``bench/reader_curve_results.txt`` and the final reader is ``WORK/<last stage>/reader.safetensors``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from pathlib import Path
from typing import Any

from peruqa.qa.reader import Reader
from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file
from peruqa.tools.apertium import spanish_file
from peruqa.tools.reader_data import read_spanish, read_squad, squad_pairs
from peruqa.tools.reader_pipeline import first_share, held_out_items
from peruqa.tools.reader_train import TrainOptions, train_reader
from peruqa.tools.roles import Role, load_roles
from peruqa.tools.train_data import held_out_articles

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "reader_curve_results.txt"
_EXTRA = {"apertium": "0", "team_spanish": "1"}


def parse_stage(text: str) -> tuple[str, TrainOptions, dict[str, str]]:
    name, _, spec = text.partition(":")
    values = dict(item.split("=", 1) for item in spec.split(",") if item)
    extra = {k: values.pop(k, default) for k, default in _EXTRA.items()}
    fields = {f.name: f for f in dataclasses.fields(TrainOptions)}
    typed: dict[str, Any] = {}
    for key, raw in values.items():
        kind = str(fields[key].type)
        if raw == "all":
            typed[key] = None
        elif "float" in kind:
            typed[key] = float(raw)
        elif "bool" in kind:
            typed[key] = raw == "1"
        else:
            typed[key] = int(raw)
    return name, TrainOptions(**typed), extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--stage", action="append", required=True)
    parser.add_argument("--every", type=int, default=125, help="steps between measurements")
    parser.add_argument("--eval-size", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    roles = load_roles(ROOT)
    squad = roles.squad_folder
    articles = read_squad(squad / "squad2-train-subset.json") + [
        a
        for a in read_squad(squad / "squad2-dev-subset.json")
        if a["title"] not in held_out_articles()
    ]
    team = [p for p in roles.with_role(Role.FIT) if p.name.startswith("squad2_es")]
    items = held_out_items(squad)
    sample = random.Random(7).sample(items, min(args.eval_size, len(items)))
    base = read_e5_file(package_file())
    tokenizer = E5Tokenizer(base)
    network: Any = None
    clock = {"started": time.perf_counter(), "pairs": 0}
    log = RESULTS.open("a", encoding="utf-8")

    def record(line: str) -> None:
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    record(f"# {time.strftime('%Y-%m-%d %H:%M')} stages: {' | '.join(args.stage)}")
    for text in args.stage:
        name, options, extra = parse_stage(text)
        options = dataclasses.replace(
            options, threads=args.threads, evaluate_every=args.every, checkpoint_every=25
        )
        spanish_paths = team if extra["team_spanish"] == "1" else []
        if extra["apertium"] == "1":
            questions = {
                str(qa["id"]): qa["question"]
                for a in articles
                for p in a["paragraphs"]
                for qa in p["qas"]
            }
            spanish_paths = [*spanish_paths, spanish_file(questions, args.work / "apertium.jsonl")]
        pairs = list(squad_pairs(articles, read_spanish(spanish_paths), seed=options.seed))
        folder = args.work / name
        before = clock["pairs"]

        def evaluate(net: Any, seen: int, stage: str = name, start: int = before) -> None:
            minutes = (time.perf_counter() - clock["started"]) / 60
            share = first_share(Reader(net, tokenizer), sample)
            clock["pairs"] = start + seen
            record(
                f"{stage}\tpairs {start + seen}\ttrain+eval minutes {minutes:.1f}\t"
                f"first (sample of {len(sample)}) {share:.3f}"
            )

        print(f"stage {name}: {len(pairs)} pairs built; options {options}", flush=True)
        network = train_reader(
            base,
            tokenizer,
            pairs,
            folder / "reader.safetensors",
            folder,
            options,
            lambda line: print(line, flush=True),
            evaluate,
            network,
        )
        full = first_share(Reader(network, tokenizer), items)
        record(f"{name}\tend\tfirst, all {len(items)} held-out questions: {full:.3f}")
        saved = Reader.load(
            folder / "reader.safetensors", folder / "reader.json", threads=args.threads
        )
        record(f"{name}\tend\tsame, as shipped (int8): {first_share(saved, items):.3f}")
    log.close()


if __name__ == "__main__":
    main()
