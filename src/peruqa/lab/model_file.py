"""Writing the decision model file that ``qa.model`` reads: one entry per embedding model."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from peruqa.qa.features import CANDIDATE_FEATURES, QUESTION_FEATURES
from peruqa.qa.model import FORMAT, StageModel


def model_entry(model: StageModel) -> dict[str, Any]:
    """The JSON form of one stage model (the inverse of ``qa.model.parse_model_file``)."""
    return {
        "prior_weights": model.prior_weights,
        "ranker": asdict(model.ranker),
        "decider": asdict(model.decider),
        "threshold": model.threshold,
    }


def write(trained: dict[str, StageModel], output: Path, sources: list[str]) -> None:
    """Write the models, keeping entries of models not retrained this time."""
    existing: dict[str, object] = {}
    if output.is_file():
        try:
            existing = json.loads(output.read_text(encoding="utf-8")).get("models", {})
        except ValueError:
            existing = {}
    models = {**existing, **{name: model_entry(m) for name, m in trained.items()}}
    payload = {
        "format": FORMAT,
        "trained_by": "peruqa train",
        "trained_on": sources,
        "features": {"candidate": list(CANDIDATE_FEATURES), "question": list(QUESTION_FEATURES)},
        "models": dict(sorted(models.items())),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
