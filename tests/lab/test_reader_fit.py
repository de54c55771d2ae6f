"""Fitting the reader's decision: a band is served only where it beats the linear one."""

from __future__ import annotations

import numpy as np

from peruqa.lab.reader_fit import (
    MAX_SENTENCES_READ,
    MIN_GAIN,
    decide,
    first_shares,
    fit_reading,
    out_of_fold,
    summarise,
)
from peruqa.lab.reader_rows import ReadRows

THRESHOLD = 0.5


def rows(reader_knows: bool, n: int = 400, seed: int = 0) -> ReadRows:
    """Questions whose linear probability says little (0.3-0.7); half answerable. The
    first candidate holds the answer of every answerable one. The reader either scores
    that candidate high exactly when the question is answerable, or at random."""
    rng = np.random.default_rng(seed)
    answerable = rng.random(n) < 0.5
    old = rng.uniform(0.3, 0.7, n)
    guesses = rng.uniform(0.05, 0.95, n)
    first = np.where(answerable, 0.9, 0.1) if reader_knows else guesses
    read = np.column_stack([first, np.full(n, 0.05), np.full(n, 0.05), np.full(n, 0.05)])
    ranker = np.tile([1.0, 0.0, -1.0, -2.0], (n, 1))
    holds = np.zeros((n, 4), dtype=bool)
    holds[:, 0] = answerable
    return ReadRows(
        old=old,
        read=read,
        ranker=ranker,
        holds=holds,
        cross=np.zeros(n, dtype=bool),
        answerable=answerable,
        group=np.array([f"squad:{i % 5:02d}-held" for i in range(n)]),
        language=np.full(n, "en"),
        source=np.full(n, "squad-dev"),
    )


def test_a_reader_that_knows_is_served_and_beats_the_linear_decision_out_of_fold() -> None:
    knows = rows(reader_knows=True)
    model = fit_reading(knows, THRESHOLD, lambda _: None)
    assert model is not None
    linear = summarise(knows, decide(knows, None, THRESHOLD))
    served = summarise(knows, out_of_fold(knows, model.band, THRESHOLD, model.read_top))
    assert served.overall > linear.overall + MIN_GAIN
    # Within its budget: every question is unsure here, so only the first candidate of each
    # can be read (four would cost too much CPU).
    assert model.read_top == 1
    assert 0.0 < served.sentences <= MAX_SENTENCES_READ


def test_a_reader_that_only_moves_the_threshold_is_not_served() -> None:
    # The linear probability already separates the questions, but the threshold in force
    # (0.5) declines them all; a reader that knows what the linear model knows would win
    # only what a lower threshold wins.
    knows = rows(reader_knows=True)
    old = np.where(knows.answerable, 0.45, 0.15)
    echo = ReadRows(**{**knows.__dict__, "old": old})
    echo.read[:, 0] = np.where(knows.answerable, 0.6, 0.4)
    assert summarise(echo, decide(echo, None, THRESHOLD)).overall < 0.6
    assert fit_reading(echo, THRESHOLD, lambda _: None) is None


def test_a_reader_that_guesses_is_never_served() -> None:
    assert fit_reading(rows(reader_knows=False), THRESHOLD, lambda _: None) is None


def test_outside_its_band_the_linear_decision_stands() -> None:
    knows = rows(reader_knows=True)
    model = fit_reading(knows, THRESHOLD, lambda _: None)
    assert model is not None
    sure = ReadRows(**{**knows.__dict__, "old": np.full(len(knows.old), 0.99)})
    decided = decide(sure, model, THRESHOLD)
    assert not decided.read.any()
    assert np.array_equal(decided.right, sure.answerable)


def test_first_shares_compare_the_rankers_first_quote_with_the_readers() -> None:
    part = rows(reader_knows=True, n=40)
    # The reader prefers the second candidate, which holds no answer, on half of them.
    part.read[::2, 1] = 0.99
    ranker, reader, count = first_shares(part)
    assert count == int(part.answerable.sum())
    assert ranker == 1.0
    holds_first = part.answerable & (np.arange(len(part.old)) % 2 == 1)
    assert reader == holds_first.sum() / count
