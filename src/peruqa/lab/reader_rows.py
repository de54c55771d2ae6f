"""The rows the reader's decision is fitted on: questions asked through the main stage
exactly as served (retrieval, candidates, the linear ranker and decision), with the
reader's scores of their top ``READ_TOP`` candidates and whether each one's quote holds an
answer. Cached per question set, linear model and reader.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from peruqa.index.embedding import Embedder
from peruqa.index.store import load_index
from peruqa.lab.model_file import model_entry
from peruqa.lab.train_data import TOP_K, QuestionSet, _holds, index_for, question_vectors
from peruqa.qa.answering import quoted_sentences
from peruqa.qa.decision import Decider
from peruqa.qa.model import StageModel
from peruqa.qa.question import analyse
from peruqa.qa.reader import Reader
from peruqa.qa.reading import READ_TOP, reader_inputs
from peruqa.qa.retrieve import Retriever


@dataclass
class ReadRows:
    """Per question: the old decision, the reader's and ranker's scores of the top
    candidates (padded with NaN), whether each one's quote holds an answer."""

    old: np.ndarray  # (n,) the linear decision's probability (0 without candidates)
    read: np.ndarray  # (n, READ_TOP) reader probabilities
    ranker: np.ndarray  # (n, READ_TOP) ranker scores
    holds: np.ndarray  # (n, READ_TOP) bool
    cross: np.ndarray  # (n,) bool
    answerable: np.ndarray
    group: np.ndarray
    language: np.ndarray
    source: np.ndarray


def read_rows(
    qset: QuestionSet,
    embedder: Embedder,
    model: StageModel,
    reader: Reader,
    work: Path,
    groups: frozenset[str] | None = None,
) -> ReadRows:
    """Ask the questions of ``qset`` (those of ``groups``, when given) through the main
    stage and read their top candidates."""
    suffix = "" if groups is None else "-" + "-".join(sorted(groups)).replace(":", "")
    # Keyed by the linear model and the reader too: either one retrained, the rows change.
    key = hashlib.sha256(json.dumps(model_entry(model)).encode() + reader.digest.encode())
    cache = work / f"read-{qset.name}{suffix}-{embedder.name}-{key.hexdigest()[:10]}.npz"
    if cache.is_file():
        with np.load(cache) as saved:
            return ReadRows(**{k: saved[k] for k in saved.files})
    data = load_index(index_for(qset, embedder, work), embedder.name)
    retriever = Retriever(data, embedder)
    decider = Decider(data, retriever.lexical, model)
    vectors = question_vectors(qset, embedder, work)
    if groups is not None:
        keep = [q.group in groups for q in qset.questions]
        vectors = vectors[np.asarray(keep, dtype=bool)]
        qset = replace(qset, questions=[q for q, k in zip(qset.questions, keep, strict=True) if k])
    n = len(qset.questions)
    rows = ReadRows(
        np.zeros(n),
        np.full((n, READ_TOP), np.nan),
        np.full((n, READ_TOP), np.nan),
        np.zeros((n, READ_TOP), dtype=bool),
        np.zeros(n, dtype=bool),
        np.asarray([q.answerable for q in qset.questions]),
        np.asarray([q.group for q in qset.questions]),
        np.asarray([q.language for q in qset.questions]),
        np.full(n, qset.name),
    )
    for i, (question, vector) in enumerate(zip(qset.questions, vectors, strict=True)):
        analysed = analyse(question.text)
        decision = decider.decide(retriever.retrieve(retriever.query_from(analysed, vector), TOP_K))
        if not decision.ranked:
            continue
        top = decision.ranked[:READ_TOP]
        rows.old[i] = decision.probability
        rows.read[i, : len(top)] = reader.score(question.text, *reader_inputs(top))
        rows.ranker[i, : len(top)] = decision.scores[: len(top)]
        for j, candidate in enumerate(top):
            quote = " ".join(s.text for s in quoted_sentences(candidate))
            rows.holds[i, j] = _holds(quote, question.answers)
        rows.cross[i] = top[0].passage.document.language != analysed.language
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{f: getattr(rows, f) for f in rows.__dataclass_fields__})
    return rows


def concatenate(parts: Sequence[ReadRows]) -> ReadRows:
    fields = ReadRows.__dataclass_fields__
    return ReadRows(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def select_rows(rows: ReadRows, keep: np.ndarray) -> ReadRows:
    fields = ReadRows.__dataclass_fields__
    return ReadRows(*(getattr(rows, f)[keep] for f in fields))
