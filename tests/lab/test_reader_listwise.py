"""Listwise training: groups per question with a no-answer option, its loss, and a tiny
deterministic run whose no-answer score ends up in the shipped head."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import torch
from test_reader_data import ARTICLES

from peruqa.lab.reader_data import Pair, squad_pairs
from peruqa.lab.reader_listwise import Group, _loss, groups_from
from peruqa.lab.reader_train import TrainOptions, train_reader


def pair(question: str, sentence: str, label: int, kind: str, rank: int = 0) -> Pair:
    return Pair(question, sentence, label, "A", kind, "en", "q1", rank)


def test_a_group_holds_the_answer_then_near_misses_then_the_hardest_negatives() -> None:
    pairs = [
        pair("When?", "Far.", 0, "paragraph", rank=2),
        pair("When?", "Close.", 0, "paragraph", rank=0),
        pair("When?", "Answer.", 1, "positive"),
        pair("When?", "Other article.", 0, "article", rank=3),
        pair("When?", "Middle.", 0, "paragraph", rank=1),
    ]
    [group] = groups_from(pairs, size=3, generated=False)
    assert group.sentences == ("Answer.", "Close.", "Middle.")
    assert group.positives == (0,)


def test_an_unanswerable_question_has_no_answer_as_its_right_choice() -> None:
    pairs = [
        pair("Why?", "Plausible.", 0, "plausible"),
        pair("Why?", "Plain.", 0, "paragraph", rank=0),
    ]
    [group] = groups_from(pairs, size=4, generated=False)
    assert group.positives == () and group.sentences[0] == "Plausible."


def test_the_loss_is_low_only_when_the_right_choice_wins() -> None:
    answerable = Group("Q", ("a", "b"), (0,))
    unanswerable = Group("Q", ("a", "b"), ())
    null = torch.tensor(0.0)
    right = torch.tensor([5.0, -5.0])
    assert float(_loss(right, null, [answerable])) < 0.05
    assert float(_loss(right, null, [unanswerable])) > 4.0
    low = torch.tensor([-5.0, -5.0])
    assert float(_loss(low, null, [unanswerable])) < 0.05


@pytest.mark.slow
def test_listwise_training_is_deterministic_and_folds_no_answer_into_the_head(
    tmp_path: Path,
) -> None:
    from peruqa.qa.reader import Reader
    from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file

    base: Any = read_e5_file(package_file())
    pairs = list(squad_pairs(ARTICLES, {}, seed=1))
    options = TrainOptions(
        batch_size=4, threads=1, checkpoint_every=2, max_pairs=8, listwise=True, negatives=None
    )
    outputs = []
    for name in ("a", "b"):
        output = tmp_path / name / "reader.safetensors"
        output.parent.mkdir()
        tokenizer = E5Tokenizer(base)
        train_reader(base, tokenizer, pairs, output, tmp_path / name / "w", options, print)
        outputs.append(output)
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in outputs]
    assert digests[0] == digests[1]
    checkpoint = torch.load(tmp_path / "a" / "w" / "listwise-checkpoint.pt", weights_only=False)
    assert checkpoint["null"] != 0.0  # the no-answer score moved at its own rate
    reader = Reader.load(outputs[0], outputs[0].with_suffix(".json"))
    assert 0.0 < reader.score("When was the river first mapped?", ["It was mapped."])[0] < 1.0
