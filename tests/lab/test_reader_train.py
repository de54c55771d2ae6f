"""Fine-tuning the reader on a tiny fixture: deterministic, and it writes a loadable file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from test_reader_data import ARTICLES

from peruqa.lab.reader_data import squad_pairs
from peruqa.lab.reader_train import TrainOptions, train_reader
from peruqa.qa.reader import Reader

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base() -> Any:
    from peruqa.qa.reader_base import package_file, read_e5_file

    return read_e5_file(package_file())


def train_once(base: Any, folder: Path) -> Path:
    from peruqa.qa.reader_base import E5Tokenizer

    pairs = list(squad_pairs(ARTICLES, {}, seed=1))
    output = folder / "reader.safetensors"
    options = TrainOptions(batch_size=4, threads=1, checkpoint_every=2, max_pairs=8)
    train_reader(base, E5Tokenizer(base), pairs, output, folder / "work", options, lambda _: None)
    return output


def test_training_on_a_tiny_fixture_is_deterministic(base: Any, tmp_path: Path) -> None:
    first = train_once(base, tmp_path / "a")
    second = train_once(base, tmp_path / "b")
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)]
    assert digest[0] == digest[1]
    reader = Reader.load(first, first.with_suffix(".json"))
    scores = reader.score("When was the river first mapped?", ["It was mapped."])
    assert scores.shape == (1,) and 0.0 < scores[0] < 1.0
