"""Fitting the reader's decision (``reading``) on questions asked through the real pipeline.

Each question goes through the main stage exactly as served (retrieval, candidates, the
linear ranker and decision); the reader then reads its top ``READ_TOP`` candidates. From
those rows this module fits how much the ranker's order counts against the reader across
languages, and reports how often the chosen quote holds the answer with and without it.

Only questions the reader never trained on are used: the SQuAD articles held out from its
training and the team's question files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from peruqa.index.embedding import Embedder
from peruqa.index.store import load_index
from peruqa.qa.answering import quoted_sentences
from peruqa.qa.decision import Decider
from peruqa.qa.model import StageModel, model_entry
from peruqa.qa.question import analyse
from peruqa.qa.reader import Reader
from peruqa.qa.reading import READ_TOP, ReadingModel, choose, reader_inputs
from peruqa.qa.retrieve import Retriever
from peruqa.tools.train_data import TOP_K, QuestionSet, _holds, index_for, question_vectors

# 1e6: the ranker's own order, so the fit may find that the reader does not help.
RANK_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 1e6)
MIN_GAIN = 0.02  # share of answerable questions the reader must add to be called


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
        rows.read[i, : len(top)] = reader.score(question.text, reader_inputs(top))
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


def choice_holds(rows: ReadRows, weight: float) -> np.ndarray:
    """Per question: does the candidate chosen with ``weight`` hold an answer?"""
    holds = np.zeros(len(rows.old), dtype=bool)
    for i in np.flatnonzero(~np.isnan(rows.read[:, 0])):
        width = int((~np.isnan(rows.read[i])).sum())
        holds[i] = rows.holds[i, choose(rows.read[i, :width], rows.ranker[i, :width], weight)]
    return holds


def report_choices(rows: ReadRows, weight: float, label: str, echo: Callable[[str], None]) -> None:
    """How often the chosen quote holds the answer, ranker alone and with the reader."""
    for language in sorted(set(rows.language)):
        for cross in (False, True):
            mask = (rows.language == language) & (rows.cross == cross) & rows.answerable
            mask &= ~np.isnan(rows.read[:, 0])
            if not mask.any():
                continue
            alone = rows.holds[mask, 0].mean()
            read = choice_holds(rows, weight)[mask].mean()
            where = "across languages" if cross else "within its language"
            echo(
                f"  {label} [{language}, {where}]: quote holds the answer, ranker {alone:.3f}, "
                f"with the reader {read:.3f}  [{int(mask.sum())} answerable]"
            )


def fit_reading(rows: ReadRows, echo: Callable[[str], None] = print) -> tuple[ReadingModel, float]:
    """The model to ship (its rank weight across languages, or no reading when that does
    not pay) and the best weight found, for reports."""
    answerable = rows.answerable & rows.cross & ~np.isnan(rows.read[:, 0])
    best_weight, best = RANK_WEIGHTS[-1], -1.0
    for weight in RANK_WEIGHTS:
        share = float(choice_holds(rows, weight)[answerable].mean())
        echo(f"  rank weight {weight}: the choice holds the answer {share:.3f}")
        if share > best + 1e-9:
            best_weight, best = weight, share
    ranker_only = float(choice_holds(rows, RANK_WEIGHTS[-1])[answerable].mean())
    if best - ranker_only < MIN_GAIN:
        # A read costs more CPU than the rest of the question; it must earn its place.
        echo(
            f"  the reader's best choice ({best:.3f}) is within {MIN_GAIN} of the ranker's "
            f"({ranker_only:.3f}): it will not read"
        )
        return ReadingModel(None), best_weight
    echo(f"  chosen rank weight across languages: {best_weight}")
    return ReadingModel(best_weight), best_weight


def decision_entry(model: ReadingModel) -> dict[str, object]:
    return {"cross_rank_weight": model.cross_rank_weight}


def write_decision(meta_path: Path, name: str, model: ReadingModel) -> None:
    """Add the fitted decision for main model ``name`` to the reader's metadata file."""
    meta = json.loads(meta_path.read_text())
    meta.setdefault("decision", {})[name] = decision_entry(model)
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
