"""The reader's learning curve: pairs trained (and minutes) against the held-out figure.

Trains the reader's stages (``tools/reader_pipeline.STAGES``, the shipped recipe, unless
``--stage`` gives others), each continuing from the last, and measures every ``--every``
steps how often the answering sentence comes first among its gold paragraph's sentences,
on a seeded sample of the measure-only SQuAD articles' questions (all of them at the end
of each stage, in float and as shipped in int8). Run it with the machine to itself: the
minutes are part of the result.

    .venv/bin/python bench/reader_curve.py --work data/reader-curve
    .venv/bin/python bench/reader_curve.py --work data/try \
        --stage recipe:negatives=1,max_pairs=6000,team_spanish=0 \
        --stage scale:negatives=all,generated=1,apertium=1,max_pairs=16000,learning_rate=2e-5

A stage's options are ``TrainOptions`` fields, plus ``apertium=1`` and ``team_spanish=0``.
Checkpoints live in the work folder: a rerun resumes. Lines are appended to
``bench/reader_curve_results.txt``; the reader is ``WORK/reader.safetensors``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from pathlib import Path
from typing import Any

from peruqa.lab.reader_pipeline import STAGES, Stage, first_share, held_out_items, train_stages
from peruqa.lab.reader_train import TrainOptions
from peruqa.lab.roles import load_roles
from peruqa.qa.reader import Reader
from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "reader_curve_results.txt"


def record(line: str) -> None:
    """Print a result line and append it to ``RESULTS`` (the reader benches share it)."""
    print(line, flush=True)
    with RESULTS.open("a", encoding="utf-8") as log:
        log.write(line + "\n")


def parse_stage(text: str) -> Stage:
    name, _, spec = text.partition(":")
    values = dict(item.split("=", 1) for item in spec.split(",") if item)
    apertium = values.pop("apertium", "0") == "1"
    team = values.pop("team_spanish", "1") == "1"
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
    return Stage(name, TrainOptions(**typed), team_spanish=team, apertium=apertium)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--stage", action="append", help="name:option=value,... (repeatable)")
    parser.add_argument("--every", type=int, default=125, help="steps between measurements")
    parser.add_argument("--eval-size", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    roles = load_roles(ROOT)
    stages = tuple(parse_stage(t) for t in args.stage) if args.stage else STAGES
    stages = tuple(
        dataclasses.replace(
            s,
            options=dataclasses.replace(s.options, evaluate_every=args.every, checkpoint_every=25),
        )
        for s in stages
    )
    items = held_out_items(roles.squad_folder)
    sample = random.Random(7).sample(items, min(args.eval_size, len(items)))
    tokenizer = E5Tokenizer(read_e5_file(package_file()))
    started = time.perf_counter()
    context = {s.name: s.options.context for s in stages}

    def evaluate(stage: str, network: Any, seen: int) -> None:
        minutes = (time.perf_counter() - started) / 60
        share = first_share(Reader(network, tokenizer, context=context[stage]), sample)
        record(
            f"{stage}\tpairs {seen}\ttrain+eval minutes {minutes:.1f}\t"
            f"first (sample of {len(sample)}) {share:.3f}"
        )

    record(f"# {time.strftime('%Y-%m-%d %H:%M')} stages: {stages}")
    output = args.work / "reader.safetensors"
    network = train_stages(
        roles.squad_folder,
        list(roles.translations),
        args.work,
        output,
        stages,
        lambda line: print(line, flush=True),
        evaluate,
        args.threads,
    )
    share = first_share(Reader(network, tokenizer, context=stages[-1].options.context), items)
    record(f"end\tfirst, all {len(items)} held-out questions: {share:.3f}")
    for quantise in (False, True):
        shipped = Reader.load(output, output.with_suffix(".json"), quantise, args.threads)
        kind = "int8 weights, int8 activations" if quantise else "int8 weights, float activations"
        record(f"end\tas shipped ({kind}): {first_share(shipped, items):.3f}")


if __name__ == "__main__":
    main()
