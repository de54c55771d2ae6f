"""The passage reader trial: items, encoding and a tiny deterministic run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from test_reader_data import ARTICLES

from peruqa.lab.reader_file import freeze_embeddings
from peruqa.lab.reader_passage import (
    MAX_TOKENS,
    PassageOptions,
    encode_passage,
    first_share,
    make_passage_network,
    passage_items,
    train_passage,
)
from peruqa.qa.reader import make_network


def test_items_mark_the_answering_sentence_and_leave_unanswerable_ones_empty() -> None:
    items = {item.question: item for item in passage_items(ARTICLES)}
    mapped = items["When was the river first mapped?"]
    [gold] = mapped.gold
    assert "1871" in mapped.sentences[gold]
    assert items["When was the river last mapped?"].gold == frozenset()


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
