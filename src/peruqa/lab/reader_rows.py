"""The rows the reader's decision is fitted on: questions asked through the main stage
exactly as served (retrieval, candidates, the linear ranker and decision), with a reader's
scores of the candidates it reads and whether each one's quote holds an answer. Cached per
question set, linear model and reader.

What a reader reads is its own (``CandidateReads``): the pairwise reader reads the ranker's
top ``READ_TOP`` candidates one by one (``PairReads``); the passage reader
(``lab/reader_passage``) reads the top candidate's whole passage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from peruqa.index.embedding import Embedder
from peruqa.index.store import load_index
from peruqa.lab.model_file import model_entry
from peruqa.lab.train_data import (
    TOP_K,
    TRANSLATIONS,
    QuestionSet,
    _holds,
    index_for,
    question_vectors,
)
from peruqa.qa.answering import quoted_sentences
from peruqa.qa.candidates import Candidate
from peruqa.qa.decision import Decider
from peruqa.qa.model import StageModel
from peruqa.qa.question import analyse
from peruqa.qa.reader import Reader
from peruqa.qa.reading import READ_TOP, reader_inputs
from peruqa.qa.retrieve import Retriever
from peruqa.qa.translating import library_of


class CandidateReads(Protocol):
    """A reader as the rows see it: which of a question's ranked candidates it reads."""

    @property
    def digest(self) -> str:
        """What this reader is (its parameters' hash): the rows' cache key."""
        ...

    @property
    def width(self) -> int:
        """The most candidates it reads for one question."""
        ...

    def read(self, question: str, ranked: list[Candidate]) -> tuple[list[int], np.ndarray]:
        """The positions in ``ranked`` it read, best-ranked first, and the probability it
        gives each that its sentence answers ``question``."""
        ...


@dataclass(frozen=True)
class PairReads:
    """The pairwise reader reading the ranker's first ``READ_TOP`` candidates."""

    reader: Reader
    width: int = READ_TOP

    @property
    def digest(self) -> str:
        return self.reader.digest

    def read(self, question: str, ranked: list[Candidate]) -> tuple[list[int], np.ndarray]:
        top = ranked[: self.width]
        return list(range(len(top))), self.reader.score(question, *reader_inputs(top))


@dataclass
class ReadRows:
    """Per question: the old decision, the reader's and ranker's scores of the candidates
    it read, in the ranker's order (padded with NaN), whether each one's quote holds an
    answer."""

    old: np.ndarray  # (n,) the linear decision's probability (0 without candidates)
    read: np.ndarray  # (n, width) reader probabilities
    ranker: np.ndarray  # (n, width) ranker scores
    holds: np.ndarray  # (n, width) bool
    cross: np.ndarray  # (n,) bool
    answerable: np.ndarray
    group: np.ndarray
    language: np.ndarray
    source: np.ndarray


def read_rows(
    qset: QuestionSet,
    embedder: Embedder,
    model: StageModel,
    reader: CandidateReads,
    work: Path,
    groups: frozenset[str] | None = None,
) -> ReadRows:
    """Ask the questions of ``qset`` (those of ``groups``, when given) through the main
    stage and let ``reader`` read their candidates."""
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
    library = library_of(data)
    vectors = question_vectors(qset, embedder, work)
    if groups is not None:
        keep = [q.group in groups for q in qset.questions]
        vectors = vectors[np.asarray(keep, dtype=bool)]
        qset = replace(qset, questions=[q for q, k in zip(qset.questions, keep, strict=True) if k])
    n, width = len(qset.questions), reader.width
    rows = ReadRows(
        np.zeros(n),
        np.full((n, width), np.nan),
        np.full((n, width), np.nan),
        np.zeros((n, width), dtype=bool),
        np.zeros(n, dtype=bool),
        np.asarray([q.answerable for q in qset.questions]),
        np.asarray([q.group for q in qset.questions]),
        np.asarray([q.language for q in qset.questions]),
        np.full(n, qset.name),
    )
    for i, (question, vector) in enumerate(zip(qset.questions, vectors, strict=True)):
        analysed = TRANSLATIONS.read(analyse(question.text), library)
        decision = decider.decide(retriever.retrieve(retriever.query_from(analysed, vector), TOP_K))
        if not decision.ranked:
            continue
        picked, probabilities = reader.read(question.text, decision.ranked)
        rows.old[i] = decision.probability
        rows.read[i, : len(picked)] = probabilities
        rows.ranker[i, : len(picked)] = [decision.scores[k] for k in picked]
        for j, k in enumerate(picked):
            quote = " ".join(s.text for s in quoted_sentences(decision.ranked[k]))
            rows.holds[i, j] = _holds(quote, question.answers)
        rows.cross[i] = decision.ranked[0].passage.document.language != analysed.language
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{f: getattr(rows, f) for f in rows.__dataclass_fields__})
    return rows


def concatenate(parts: Sequence[ReadRows]) -> ReadRows:
    fields = ReadRows.__dataclass_fields__
    return ReadRows(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def select_rows(rows: ReadRows, keep: np.ndarray) -> ReadRows:
    fields = ReadRows.__dataclass_fields__
    return ReadRows(*(getattr(rows, f)[keep] for f in fields))
