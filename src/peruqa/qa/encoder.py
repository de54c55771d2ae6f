"""A post-LayerNorm BERT encoder in plain PyTorch, as e5-small (XLM-R layout) computes it.

Written here rather than taken from ``transformers`` because importing that library costs
each serving worker seconds at start; the parameter names are ``BertModel``'s, so weights
move between the two unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional


@dataclass(frozen=True)
class EncoderShape:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    max_positions: int
    type_vocab: int
    eps: float


class Embeddings(nn.Module):
    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        # Replaced by the compact table of ``reader_base`` once built.
        self.word_embeddings: nn.Module = nn.Embedding(1, shape.hidden)
        self.position_embeddings = nn.Embedding(shape.max_positions, shape.hidden)
        self.token_type_embeddings = nn.Embedding(shape.type_vocab, shape.hidden)
        self.LayerNorm = nn.LayerNorm(shape.hidden, eps=shape.eps)
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        summed = (
            self.word_embeddings(ids)
            + self.position_embeddings(positions)[None]
            + self.token_type_embeddings.weight[0]
        )
        result: torch.Tensor = self.dropout(self.LayerNorm(summed))
        return result


class SelfAttention(nn.Module):
    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.heads = shape.heads
        self.query = nn.Linear(shape.hidden, shape.hidden)
        self.key = nn.Linear(shape.hidden, shape.hidden)
        self.value = nn.Linear(shape.hidden, shape.hidden)
        self.dropout = 0.1

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = hidden.shape

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        context = functional.scaled_dot_product_attention(
            split(self.query(hidden)),
            split(self.key(hidden)),
            split(self.value(hidden)),
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return context.transpose(1, 2).reshape(batch, length, width)


class Output(nn.Module):
    """Dense, dropout, then LayerNorm over the residual (post-LN)."""

    def __init__(self, inner: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(inner, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.LayerNorm(self.dropout(self.dense(x)) + residual)
        return result


class Attention(nn.Module):
    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.self = SelfAttention(shape)
        self.output = Output(shape.hidden, shape.hidden, shape.eps)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.output(self.self(hidden, mask), hidden)
        return result


class Intermediate(nn.Module):
    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.dense = nn.Linear(shape.hidden, shape.feed_forward)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional.gelu(self.dense(x))  # the exact (erf) GELU, as e5 uses


class Layer(nn.Module):
    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.attention = Attention(shape)
        self.intermediate = Intermediate(shape)
        self.output = Output(shape.feed_forward, shape.hidden, shape.eps)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        attended = self.attention(hidden, mask)
        result: torch.Tensor = self.output(self.intermediate(attended), attended)
        return result


class Stack(nn.Module):
    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(shape) for _ in range(shape.layers))


class Encoder(nn.Module):
    """Token ids (and a 0/1 padding mask) in, one hidden vector per token out."""

    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        self.embeddings = Embeddings(shape)
        self.encoder = Stack(shape)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.embeddings(ids)
        keep = torch.ones_like(ids, dtype=torch.bool) if mask is None else mask.bool()
        attend = keep[:, None, None, :]  # every query may look at every real token
        for layer in self.encoder.layer:
            hidden = layer(hidden, attend)
        result: torch.Tensor = hidden
        return result
