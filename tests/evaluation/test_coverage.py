"""The precision-coverage table: one row per threshold, the served one marked."""

from __future__ import annotations

from peruqa.evaluation.coverage import table
from peruqa.evaluation.evaluate import EvalItem, EvalResult


def result(answerable: bool, confidence: float, correct: bool, stage: str = "main") -> EvalResult:
    item = EvalItem("q", "en", "?", answerable, "x" if answerable else None)
    return EvalResult(item, "quote", False, correct, 1, 1.0, confidence, stage)


def row(text: str, threshold: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.split()[0] == threshold)


def test_rows_count_answers_precision_and_declines_at_each_threshold() -> None:
    results = [
        result(True, 0.9, True),
        result(True, 0.6, False),
        result(True, 0.35, True),
        result(True, 0.05, True, stage="first"),  # the first stage answers only when sure
        result(False, 0.7, False),
        result(False, 0.2, False),
    ]
    text = table(results, default=0.45)
    # At 0.70: the 0.9 one and the first stage's answer (2 of 4), both right; the 0.7
    # unanswerable one is answered, the 0.2 one declined.
    assert row(text, "0.70")[1:4] == ["0.50", "1.00", "0.50"]
    # At 0.50: three of four answered, two of them right.
    assert row(text, "0.50")[1:4] == ["0.75", "0.67", "0.50"]
    # At 0.10 everything is answered: three of four right, nothing declined.
    assert row(text, "0.10")[1:4] == ["1.00", "0.75", "0.00"]


def test_the_default_threshold_gets_its_own_marked_row() -> None:
    text = table([result(True, 0.5, True), result(False, 0.4, False)], default=0.45)
    marked = [line for line in text.splitlines() if "<- default" in line]
    assert len(marked) == 1
    assert marked[0].split()[0] == "0.45"
