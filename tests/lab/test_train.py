"""``peruqa train`` on a tiny fixture: same data, same parameter file, every time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import write_corpus
from peruqa.cli import main
from peruqa.qa.model import load_models

FACTS = [
    ("Lima", "Lima was founded in 1535 by Francisco Pizarro. It is the capital of Peru."),
    ("Cusco", "Cusco was the capital of the Inca Empire. The city lies at 3,400 metres."),
    ("Titicaca", "Lake Titicaca lies between Peru and Bolivia. Reed islands float on it."),
    ("Amazon", "The Amazon river starts in the Andes. Iquitos is its largest Peruvian port."),
    ("Nazca", "The Nazca lines were made about 2,000 years ago. They show animals and plants."),
    ("Arequipa", "Arequipa is built of white volcanic stone. The Misti volcano rises above it."),
]
QUESTIONS = {
    "Lima": [("When was Lima founded?", "1535"), ("Who founded Lima in 1700?", None)],
    "Cusco": [("At what altitude is Cusco?", "3,400 metres"), ("Who built Cusco's airport?", None)],
    "Titicaca": [
        ("Which countries share Lake Titicaca?", "Peru and Bolivia"),
        ("How deep is it?", None),
    ],
    "Amazon": [("Where does the Amazon start?", "the Andes"), ("How long is the Amazon?", None)],
    "Nazca": [("How old are the Nazca lines?", "2,000 years"), ("Who found the lines?", None)],
    "Arequipa": [("What rises above Arequipa?", "The Misti volcano"), ("When was it built?", None)],
}


def squad(titles: list[str]) -> dict[str, object]:
    articles = []
    for title in titles:
        context = dict(FACTS)[title]
        qas = []
        for number, (question, answer) in enumerate(QUESTIONS[title]):
            qas.append(
                {
                    "id": f"{title}-{number}",
                    "question": question,
                    "is_impossible": answer is None,
                    "answers": [] if answer is None else [{"text": answer, "answer_start": 0}],
                }
            )
        articles.append({"title": title, "paragraphs": [{"context": context, "qas": qas}]})
    return {"version": "v2.0", "data": articles}


@pytest.fixture
def fixture(tmp_path: Path) -> dict[str, Path]:
    squad_dir = tmp_path / "qa-train"
    squad_dir.mkdir()
    titles = [title for title, _ in FACTS]
    for name, part in (("train", titles[:2]), ("dev", titles[2:])):
        text = json.dumps(squad(part))
        (squad_dir / f"squad2-{name}-subset.json").write_text(text, encoding="utf-8")
    dev = tmp_path / "dev_qa.jsonl"
    records = [
        {"id": "d1", "lang": "en", "question": "When did the agency open an office in Cusco?",
         "answerable": True, "answer": "1991"},
        {"id": "d2", "lang": "es", "question": "¿En qué año recibieron formación las parteras?",
         "answerable": True, "answer": "2018"},
        {"id": "d3", "lang": "en", "question": "Who won the world cup in 2022?",
         "answerable": False},
    ]  # fmt: skip
    dev.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return {
        "squad": squad_dir,
        "dev": dev,
        "docs": write_corpus(tmp_path / "docs"),
        "work": tmp_path / "work",
    }


def train(fixture: dict[str, Path], output: Path) -> str:
    args = ["train", "--models", "fake", "--squad", str(fixture["squad"])]
    args += ["--fit", str(fixture["dev"]), "--work", str(fixture["work"])]
    args += ["--output", str(output), "--source", str(fixture["docs"])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_training_twice_writes_the_same_parameter_file(
    fixture: dict[str, Path], tmp_path: Path
) -> None:
    first, second = tmp_path / "one.json", tmp_path / "two.json"
    train(fixture, first)
    train(fixture, second)
    assert first.read_bytes() == second.read_bytes()
    model = load_models(first)["fake"]
    assert 0.0 < model.threshold < 1.0


def test_training_prints_scores_on_held_out_articles_and_files(
    fixture: dict[str, Path], tmp_path: Path
) -> None:
    output = train(fixture, tmp_path / "model.json")
    assert "SQuAD dev articles held out from training" in output
    assert "dev files, each left out in turn" in output
    assert "overall" in output and "unanswerable declined" in output


def test_a_missing_squad_folder_is_a_clear_error(fixture: dict[str, Path], tmp_path: Path) -> None:
    args = ["train", "--models", "fake", "--squad", str(tmp_path / "nowhere")]
    args += ["--output", str(tmp_path / "m.json"), "--work", str(fixture["work"])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_training_writes_to_the_data_folder_and_never_the_package_unasked(
    fixture: dict[str, Path], tmp_path: Path
) -> None:
    from peruqa.qa.model import MODEL_FILE

    shipped = MODEL_FILE.read_bytes() if MODEL_FILE.is_file() else None
    args = ["train", "--models", "fake", "--squad", str(fixture["squad"])]
    args += ["--fit", str(fixture["dev"]), "--work", str(fixture["work"])]
    args += ["--source", str(fixture["docs"])]
    data = tmp_path / "data"
    result = CliRunner().invoke(main, args, env={"PERUQA_DATA_DIR": str(data)})
    assert result.exit_code == 0, result.output
    assert "fake" in load_models(data / "decision_model.json")
    assert (MODEL_FILE.read_bytes() if MODEL_FILE.is_file() else None) == shipped


def test_output_and_install_together_are_refused(fixture: dict[str, Path], tmp_path: Path) -> None:
    args = ["train", "--models", "fake", "--squad", str(fixture["squad"]), "--install"]
    args += ["--output", str(tmp_path / "m.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "--output or --install, not both" in result.output


def test_training_without_squad_data_says_how_to_name_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["train", "--output", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert "--squad FOLDER or PERUQA_SQUAD_DIR" in result.output
