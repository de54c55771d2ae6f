"""The span head trial: items, the answer's tokens, and a tiny deterministic run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from test_reader_data import ARTICLES

from peruqa.lab.reader_file import freeze_embeddings
from peruqa.lab.reader_passage import make_passage_network
from peruqa.lab.reader_span import (
    SpanOptions,
    encode_span,
    make_span_network,
    read_spans,
    span_items,
    train_span,
)
from peruqa.qa.reader import make_network


def test_items_locate_the_first_answer_in_its_sentence() -> None:
    items = {item.question: item for item in span_items(ARTICLES)}
    mapped = items["When was the river first mapped?"]
    assert mapped.answer is not None
    sentence, start, end = mapped.answer
    assert sentence in mapped.gold
    assert mapped.sentences[sentence][start:end] == "1871"
    unanswerable = items["When was the river last mapped?"]
    assert unanswerable.gold == frozenset() and unanswerable.answer is None


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file

    return E5Tokenizer(read_e5_file(package_file()))


@pytest.mark.slow
def test_the_answers_tokens_are_labelled_and_no_answer_points_at_the_start(
    tokenizer: Any,
) -> None:
    items = span_items(ARTICLES)
    for item in items:
        row = encode_span(tokenizer, item)
        assert len(row.ids) == len(row.owner)
        if item.answer is None:
            assert row.start == row.end == 0
            continue
        sentence, start, end = item.answer
        assert 0 < row.start <= row.end and row.owner[row.start] == sentence
        # The labelled tokens cover the answer's characters, and no more words.
        first = row.owner.index(sentence)
        _, offsets = tokenizer.ids_with_offsets([item.sentences[sentence]])[0]
        covered = offsets[row.start - first : row.end - first + 1]
        text = item.sentences[sentence][covered[0][0] : covered[-1][1]]
        assert text.strip() == item.sentences[sentence][start:end]


@pytest.mark.slow
def test_training_on_a_tiny_fixture_is_deterministic(tokenizer: Any, tmp_path: Path) -> None:
    from peruqa.qa.reader_base import package_file, read_e5_file

    base = read_e5_file(package_file())
    items = span_items(ARTICLES)
    options = SpanOptions(batch_size=2, threads=1, checkpoint_every=1, max_items=3)
    states = []
    for run in ("a", "b"):
        torch.manual_seed(0)
        pair = make_network(base, layers=2)
        freeze_embeddings(pair)
        network = make_span_network(make_passage_network(pair))
        train_span(network, tokenizer, items, tmp_path / run, options, lambda _: None)
        states.append(network.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    item = next(i for i in items if i.gold)
    sentence, margin, margins = read_spans(network, tokenizer, item)
    assert 0 <= sentence < len(item.sentences)
    assert len(margins) == len(item.sentences) and margin == margins.max()
