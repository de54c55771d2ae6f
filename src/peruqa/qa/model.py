"""The trained ranker and answer-or-decline model: its parameter file, loaded and applied.

``decision_model.json`` beside this module is written by ``peruqa train --install`` and
committed (``PERUQA_DECISION_MODEL`` names another file). Per embedding model it holds two
logistic regressions over standardised features: the ranker (does this sentence's quote
hold the answer?), which also sees every feature times the cross-language flag, and the
decision (is the top-ranked sentence a right answer?), which does not (with so few Spanish
labels they overfitted: docs/answer-model.md); the threshold chosen for the decision; and
the prior sentence weights that order candidates before the ranker sees them. Serving
needs only numpy.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.config import DECISION_MODEL_FILE, MODELS
from peruqa.errors import ModelFileError
from peruqa.qa.features import CANDIDATE_FEATURES, QUESTION_FEATURES, with_interactions

MODEL_FILE = DECISION_MODEL_FILE
FORMAT = 1


@dataclass(frozen=True)
class Linear:
    """A logistic regression over standardised inputs: ``(x - mean) / scale · w + bias``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def score(self, features: np.ndarray) -> np.ndarray:
        """Log-odds for each row of ``features`` (as many columns as ``mean``)."""
        mean = np.asarray(self.mean)
        scale = np.asarray(self.scale)
        result: np.ndarray = ((features - mean) / scale) @ np.asarray(self.weights) + self.bias
        return result


@dataclass(frozen=True)
class StageModel:
    """Everything one embedding model's stage needs to rank candidates and decide."""

    prior_weights: dict[str, float]  # the candidates' prior order (see ``candidates``)
    ranker: Linear
    decider: Linear
    threshold: float  # default answer threshold on the decision's probability

    def rank_scores(self, candidate_rows: np.ndarray) -> np.ndarray:
        return self.ranker.score(with_interactions(candidate_rows))

    def probability(self, question_row: np.ndarray) -> float:
        value = float(self.decider.score(question_row[None, :])[0])
        return 1.0 / (1.0 + math.exp(-max(min(value, 30.0), -30.0)))


def parse_linear(entry: Any, width: int, where: str) -> Linear:
    try:
        linear = Linear(
            tuple(float(v) for v in entry["mean"]),
            tuple(float(v) for v in entry["scale"]),
            tuple(float(v) for v in entry["weights"]),
            float(entry["bias"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{where} is incomplete ({type(exc).__name__}: {exc}).") from exc
    sizes = {len(linear.mean), len(linear.scale), len(linear.weights)}
    if sizes != {width}:
        raise ModelFileError(f"{where} has {sorted(sizes)} weights where {width} are expected.")
    if any(s <= 0 or not math.isfinite(s) for s in linear.scale) or not all(
        math.isfinite(v) for v in (*linear.mean, *linear.weights, linear.bias)
    ):
        raise ModelFileError(f"{where} holds non-finite numbers or a zero scale.")
    return linear


def parse_model_file(payload: Any, path: Path) -> dict[str, StageModel]:
    """Every stage model in a parsed parameter file; checks shape, names and numbers."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a PeruQA decision model (format {FORMAT}).")
    features = payload.get("features", {})
    if tuple(features.get("candidate", ())) != CANDIDATE_FEATURES or tuple(
        features.get("question", ())
    ) != tuple(QUESTION_FEATURES):
        raise ModelFileError(
            f"{path} was trained on other features than this version computes. "
            "Retrain with 'peruqa train'."
        )
    models = payload.get("models")
    if not isinstance(models, dict) or not models:
        raise ModelFileError(f"{path} holds no models.")
    out = {}
    for name, entry in models.items():
        where = f"{path} [{name}]"
        try:
            threshold = float(entry["threshold"])
            prior = {str(k): float(v) for k, v in entry["prior_weights"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"{where} is incomplete ({type(exc).__name__}).") from exc
        if not 0.0 <= threshold <= 1.0:
            raise ModelFileError(f"{where} has a threshold outside 0..1.")
        out[name] = StageModel(
            prior,
            parse_linear(entry.get("ranker"), 2 * len(CANDIDATE_FEATURES), f"{where} ranker"),
            parse_linear(entry.get("decider"), len(QUESTION_FEATURES), f"{where} decider"),
            threshold,
        )
    return out


@functools.cache
def load_models(path: Path = MODEL_FILE) -> dict[str, StageModel]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFileError(
            f"The decision model {path} is missing. Reinstall PeruQA or run 'peruqa train'."
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"The decision model {path} is unreadable: {exc}.") from exc
    return parse_model_file(payload, path)


def load_stage_model(model: str, path: Path = MODEL_FILE) -> StageModel:
    """The fitted weights embedding model ``model`` answers with (``config.MODELS`` says
    whose: its own, or those it is declared to use)."""
    weights = MODELS[model].weights if model in MODELS else model
    found = load_models(path).get(weights)
    if found is None:
        raise ModelFileError(
            f"{path} has no fitted weights for '{weights}'. "
            f"Train them with 'peruqa train --models {weights}'."
        )
    return found
