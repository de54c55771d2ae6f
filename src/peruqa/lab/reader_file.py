"""Writing the reader's parameter file: what training changed, matrices as int8 with one
scale per row (``qa.reader.Reader.load`` reads it back and checks every shape and the hash).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.qa.reader import FORMAT, LAYERS


def trained_names(network: Any) -> list[str]:
    """The parameters training changes (and the file holds): layers and head."""
    return [n for n, p in network.named_parameters() if p.requires_grad]


def freeze_embeddings(network: Any, layers: int = 0) -> None:
    """Keep the embeddings (and the lowest ``layers`` layers) as the base has them."""
    frozen = [network.encoder.embeddings, *network.encoder.encoder.layer[:layers]]
    for module in frozen:
        for parameter in module.parameters():
            parameter.requires_grad = False


def save(network: Any, path: Path, meta: dict[str, Any]) -> str:
    """Write the trained parameters (matrices as int8 + row scales) and return their hash."""
    from safetensors.numpy import save_file

    tensors: dict[str, np.ndarray] = {}
    for name in trained_names(network):
        value = dict(network.named_parameters())[name].detach().float().numpy()
        if value.ndim == 2 and value.shape[0] > 1:
            scale = np.maximum(np.abs(value).max(axis=1), 1e-8) / 127.0
            tensors[name + ".q"] = np.round(value / scale[:, None]).astype(np.int8)
            tensors[name + ".scale"] = scale.astype(np.float32)
        else:
            tensors[name] = value.astype(np.float32)
    save_file(tensors, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    shapes = {n: list(p.shape) for n, p in network.named_parameters() if p.requires_grad}
    document = {"format": FORMAT, "layers": LAYERS, "sha256": digest, "shapes": shapes, **meta}
    path.with_suffix(".json").write_text(json.dumps(document, indent=1) + "\n")
    return digest
