"""Fitting the reader's decision (``reading``) on questions asked through the real pipeline.

Each question goes through the main stage exactly as served (retrieval, candidates, the
linear ranker and decision); the reader then reads its top ``READ_TOP`` candidates. From
those rows this module fits how much the ranker's order counts against the reader across
languages, and reports how often the chosen quote holds the answer with and without it.

Only questions the reader never trained on are used: the SQuAD articles held out from its
training and the team's question files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from peruqa.lab.learn import balanced_weights, fit_logistic
from peruqa.lab.reader_rows import ReadRows, select_rows
from peruqa.qa.reading import (
    READ_TOP,
    STACK_FEATURES,
    ReadingModel,
    choose,
    logit,
    stack_row,
)

# 1e6: the ranker's own order, so the fit may find that the reader does not help.
RANK_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 1e6)
MIN_GAIN = 0.02  # overall share (out of fold) the reader must add to be called
# Linear probabilities whose questions the reader may read: always inside the band.
BANDS = tuple((low, high) for low in (0.0, 0.05, 0.1, 0.2) for high in (0.4, 0.6, 0.8, 0.9, 1.0))
SQUAD_PREFIX = "squad"  # the fold groups of SQuAD questions (``train_data.article_group``)
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(2, 19))
# How many of the ranker's first candidates a fit may let the reader read.
READ_WIDTHS = (1, 2, READ_TOP)
# Sentences read per question, on average over all questions: make bench measures an unread
# question at about 26 ms of CPU and the reader at about 22 ms a sentence ("reader, one
# call" over 4), so one sentence a question keeps the mean under the 60 ms target with room.
MAX_SENTENCES_READ = 1.0


def narrowed(rows: ReadRows, width: int) -> ReadRows:
    """``rows`` as if the reader had read only the ranker's first ``width`` candidates."""
    read, ranker = rows.read.copy(), rows.ranker.copy()
    read[:, width:] = np.nan
    ranker[:, width:] = np.nan
    return replace(rows, read=read, ranker=ranker)


def choice_holds(rows: ReadRows, weight: float) -> np.ndarray:
    """Per question: does the candidate chosen with ``weight`` hold an answer?"""
    return stack_rows(rows, weight)[1]


def stack_rows(rows: ReadRows, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """``STACK_FEATURES`` of every question (zeros where nothing was read) and whether the
    quote chosen with ``weight`` holds an answer."""
    features = np.zeros((len(rows.old), len(STACK_FEATURES)))
    holds = np.zeros(len(rows.old), dtype=bool)
    for i in np.flatnonzero(~np.isnan(rows.read[:, 0])):
        width = int((~np.isnan(rows.read[i])).sum())
        read = rows.read[i, :width]
        chosen = choose(read, rows.ranker[i, :width], weight)
        features[i] = stack_row(float(rows.old[i]), read, chosen, bool(rows.cross[i]))
        holds[i] = rows.holds[i, chosen]
    return features, holds


@dataclass(frozen=True)
class Decided:
    """Per question, as serving decides: answered with a quote that holds an answer,
    declined, whether the reader read it and how many sentences."""

    right: np.ndarray
    declined: np.ndarray
    read: np.ndarray
    sentences: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """Answerable answered with the right quote, unanswerable declined, all questions right
    (the issue's "overall"), the share the reader read and its sentences per question."""

    answered_right: float
    declined: float
    overall: float
    read_share: float
    sentences: float = 0.0

    def line(self) -> str:
        return (
            f"answerable answered-and-right {self.answered_right:.3f}, unanswerable declined "
            f"{self.declined:.3f}, overall {self.overall:.3f}, read {self.read_share:.2f}"
            f" ({self.sentences:.2f} sentences a question)"
        )


def decide(rows: ReadRows, model: ReadingModel | None, threshold: float) -> Decided:
    """Every question decided as serving decides it: read in the band, linear elsewhere."""
    right = rows.answerable & rows.holds[:, 0] & (rows.old >= threshold)
    declined = rows.old < threshold
    read = np.zeros(len(rows.old), dtype=bool)
    sentences = np.zeros(len(rows.old))
    if model is not None:
        seen = narrowed(rows, model.read_top)
        features, holds = stack_rows(seen, model.rank_weight)
        low, high = model.band
        read = ~np.isnan(rows.read[:, 0]) & (rows.old >= low) & (rows.old <= high)
        sentences = np.where(read, (~np.isnan(seen.read)).sum(axis=1), 0)
        answers = model.stack.score(features) >= logit(model.threshold)
        right = np.where(read, rows.answerable & holds & answers, right)
        declined = np.where(read, ~answers, declined)
    return Decided(right, declined, read, sentences)


def summarise(rows: ReadRows, decided: Decided, mask: np.ndarray | None = None) -> Outcome:
    keep = np.ones(len(rows.old), dtype=bool) if mask is None else mask
    answerable, unanswerable = rows.answerable & keep, ~rows.answerable & keep
    correct = np.where(rows.answerable, decided.right, decided.declined)
    return Outcome(
        float(decided.right[answerable].mean()) if answerable.any() else 0.0,
        float(decided.declined[unanswerable].mean()) if unanswerable.any() else 0.0,
        float(correct[keep].mean()) if keep.any() else 0.0,
        float(decided.read[keep].mean()) if keep.any() else 0.0,
        float(decided.sentences[keep].mean()) if keep.any() else 0.0,
    )


def outcome(rows: ReadRows, model: ReadingModel | None, threshold: float) -> Outcome:
    return summarise(rows, decide(rows, model, threshold))


def fit_model(
    rows: ReadRows, band: tuple[float, float], read_top: int = READ_TOP
) -> ReadingModel | None:
    """The rank weight, stack and threshold fitted on ``rows``' questions in ``band``, the
    reader reading their first ``read_top`` candidates."""
    low, high = band
    inside = ~np.isnan(rows.read[:, 0]) & (rows.old >= low) & (rows.old <= high)
    if inside.sum() < 20:
        return None
    subset = select_rows(narrowed(rows, read_top), inside)
    answerable = subset.answerable
    weight = max(
        RANK_WEIGHTS, key=lambda w: float(choice_holds(subset, w)[answerable].mean() or 0.0)
    )
    features, holds = stack_rows(subset, weight)
    labels = answerable & holds
    if labels.all() or not labels.any():
        return None
    balance = balanced_weights(answerable, subset.source, np.ones(len(labels)))
    stack = fit_logistic(features, labels, balance, l2=1.0)
    odds = stack.score(features)
    best, threshold = -1.0, 0.5
    for candidate in THRESHOLDS:
        answers = odds >= logit(candidate)
        right = np.where(answerable, labels & answers, ~answers)
        score = float(np.average(right, weights=balance))
        if score > best + 1e-12:
            best, threshold = score, candidate
    return ReadingModel(band, weight, stack, threshold, read_top)


def out_of_fold(
    rows: ReadRows, band: tuple[float, float] | None, threshold: float, read_top: int = READ_TOP
) -> Decided:
    """Each fold (an article, or a team file) decided by a model fitted on the others."""
    if band is None:
        return decide(rows, None, threshold)
    n = len(rows.old)
    right, declined, read = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    sentences = np.zeros(n)
    for group in np.unique(rows.group):
        held = rows.group == group
        model = fit_model(select_rows(rows, ~held), band, read_top)
        part = decide(select_rows(rows, held), model, threshold)
        right[held], declined[held], read[held] = part.right, part.declined, part.read
        sentences[held] = part.sentences
    return Decided(right, declined, read, sentences)


def fit_reading(
    rows: ReadRows, threshold: float, echo: Callable[[str], None] = print
) -> ReadingModel | None:
    """The band and width (and their model, fitted on all rows) whose out-of-fold overall
    figure is best within the read budget; None when none beats the linear decision by
    ``MIN_GAIN`` at its own best threshold: a gain a threshold could give is not the
    reader's (the stack chooses its own threshold, so it may simply decline more)."""
    squad = np.char.startswith(rows.group.astype(str), SQUAD_PREFIX)
    alone = summarise(rows, out_of_fold(rows, None, threshold))
    echo(f"  linear decision alone: {alone.line()}")
    moved = max(THRESHOLDS, key=lambda t: summarise(rows, decide(rows, None, t)).overall)
    best_linear = summarise(rows, decide(rows, None, moved))
    echo(f"  linear decision at its best threshold {moved:.2f}: {best_linear.line()}")
    chosen, best = None, max(alone.overall, best_linear.overall) + MIN_GAIN
    for width in READ_WIDTHS:
        for band in BANDS:
            decided = out_of_fold(rows, band, threshold, width)
            found = summarise(rows, decided)
            echo(f"  band {band[0]:.2f}-{band[1]:.2f}, top {width}, out of fold: {found.line()}")
            if squad.any():
                echo(f"      held-out articles only: {summarise(rows, decided, squad).line()}")
            if found.sentences <= MAX_SENTENCES_READ and found.overall > best:
                chosen, best = (band, width), found.overall
    if chosen is None:
        echo(f"  nothing beats the linear decision by {MIN_GAIN}: the reader will not read")
        return None
    echo(f"  chosen band {chosen[0]}, reading the top {chosen[1]}")
    return fit_model(rows, *chosen)


def report(
    rows: ReadRows,
    model: ReadingModel | None,
    threshold: float,
    label: str,
    echo: Callable[[str], None],
) -> None:
    """Figures per language: which quote comes first, the linear decision alone, and as
    served with the reader."""
    for language in sorted(set(rows.language)):
        part = select_rows(rows, rows.language == language)
        ranker, reader, count = first_shares(part)
        echo(
            f"  {label} [{language}] answering quote first among the top {READ_TOP}: "
            f"ranker {ranker:.3f}, reader {reader:.3f} [{count} answerable with one there]"
        )
        echo(f"  {label} [{language}] linear alone: {outcome(part, None, threshold).line()}")
        if model is not None:
            echo(f"  {label} [{language}] with reader:  {outcome(part, model, threshold).line()}")


def first_shares(rows: ReadRows) -> tuple[float, float, int]:
    """Among answerable questions whose top candidates hold an answer: the share whose
    answering quote the ranker puts first, and the share the reader alone puts first."""
    there = rows.answerable & rows.holds.any(axis=1) & ~np.isnan(rows.read[:, 0])
    indices = np.flatnonzero(there)
    if not len(indices):
        return 0.0, 0.0, 0
    ranker = float(rows.holds[indices, 0].mean())
    chosen = [int(np.nanargmax(rows.read[i])) for i in indices]
    reader = float(np.mean([rows.holds[i, c] for i, c in zip(indices, chosen, strict=True)]))
    return ranker, reader, len(indices)


def write_decision(meta_path: Path, name: str, model: ReadingModel | None) -> None:
    """Add the fitted decision for main model ``name`` to the reader's metadata file."""
    meta = json.loads(meta_path.read_text())
    meta.setdefault("decision", {})[name] = None if model is None else model.entry()
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
