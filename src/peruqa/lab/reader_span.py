"""A research trial for issue 21: the span head, the last reader the issue lists.

The passage reader (``lab/reader_passage``) scores whole sentences in their paragraph and
a "no answer" option. A span head is SQuAD 2.0's own recipe: every token of the paragraph
gets a start and an end score, the answer is the best span, and "no answer" is the span
on ``<s>`` (the null score). Its training signal is the answer's exact tokens rather than
its sentence, which may teach the encoder what sentence labels cannot. It grows from a
passage run's encoder (which already reads paragraphs); its sentence is the one its best
span starts in, so it is measured as the passage reader is.

Not served: this module trains and measures.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peruqa.lab.reader_passage import (
    MAX_TOKENS,
    length_batches,
    load_passage_network,
    train_with_head,
)
from peruqa.lab.reader_passage_items import paragraph_questions
from peruqa.qa.reader import PREFIX, QUESTION_TOKENS, batch_tensors

CHECKPOINT = "span-checkpoint.pt"
MAX_SPAN = 30  # tokens: SQuAD's answers are short


@dataclass(frozen=True)
class SpanItem:
    question: str
    sentences: tuple[str, ...]
    gold: frozenset[int]  # the sentences holding an answer; empty: unanswerable
    # The first answer: its sentence and its characters within that sentence.
    answer: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class SpanRow:
    ids: list[int]
    owner: list[int]  # per token: its sentence (-1 for the question and the markers)
    start: int  # the answer's first and last token; 0 (``<s>``) when there is none
    end: int


@dataclass(frozen=True)
class SpanOptions:
    seed: int = 13
    batch_size: int = 8
    learning_rate: float = 3e-5
    head_learning_rate: float = 1e-3
    warmup_share: float = 0.1
    max_items: int | None = 6000
    checkpoint_every: int = 25
    evaluate_every: int = 0
    threads: int = 2


def span_items(articles: Sequence[dict[str, Any]]) -> list[SpanItem]:
    """Every question of ``articles`` with its paragraph's sentences and first answer."""
    items = []
    for sentences, qa, gold in paragraph_questions(articles):
        texts = tuple(s.text for s in sentences)
        if qa.get("is_impossible"):
            items.append(SpanItem(qa["question"], texts, frozenset()))
            continue
        first = qa["answers"][0]
        where = [i for i, s in enumerate(sentences) if s.start <= first["answer_start"] < s.end]
        if not gold or not where:
            continue
        sentence = sentences[where[0]]
        # The sentence's text may be trimmed: find the answer in it, from its offset.
        offset = sentence.text.find(first["text"], first["answer_start"] - sentence.start)
        if offset < 0:
            offset = sentence.text.find(first["text"])
        if offset < 0:
            continue
        answer = (where[0], offset, offset + len(first["text"]))
        items.append(SpanItem(qa["question"], texts, gold, answer))
    return items


def encode_span(tokenizer: Any, item: SpanItem) -> SpanRow:
    """``<s> query: question </s></s> sentence sentence ... </s>``, each token's sentence and
    the answer's tokens (those whose characters overlap the answer's)."""
    question = tokenizer.ids([PREFIX + item.question])[0][:QUESTION_TOKENS]
    bos, eos = tokenizer.special["bos"], tokenizer.special["eos"]
    ids = [bos, *question, eos, eos]
    owner = [-1] * len(ids)
    start = end = 0
    for index, (pieces, offsets) in enumerate(tokenizer.ids_with_offsets(item.sentences)):
        room = MAX_TOKENS - 1 - len(ids)
        for piece, (a, b) in list(zip(pieces, offsets, strict=True))[:room]:
            answer = item.answer
            if answer is not None and answer[0] == index and a < answer[2] and b > answer[1]:
                start = start or len(ids)
                end = len(ids)
            ids.append(piece)
            owner.append(index)
    return SpanRow([*ids, eos], [*owner, -1], start, end)


def make_span_network(passage_network: Any) -> Any:
    """The span head on a passage reader's encoder (its sentence head and null dropped)."""
    import torch

    class SpanNetwork(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = passage_network.encoder
            self.span = torch.nn.Linear(passage_network.null.in_features, 2)

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Start and end scores per token: shape (batch, tokens, 2)."""
            out: torch.Tensor = self.span(self.encoder(ids, mask))
            return out

    return SpanNetwork()


def load_span_network(init: Path, passage: Path, span: Path | None = None) -> tuple[Any, Any]:
    """The span reader grown from a passage run (``passage``, itself grown from the pairwise
    stage ``init``), with a span run's weights when ``span`` is given."""
    import torch

    network, tokenizer = load_passage_network(init, passage)
    spans = make_span_network(network)
    if span is not None:
        saved = torch.load(span / CHECKPOINT, weights_only=False)
        spans.load_state_dict(saved["network"], strict=False)
    return spans, tokenizer


def _allowed(rows: Sequence[SpanRow], width: int) -> Any:
    """Which tokens may start or end an answer: the paragraph's, and ``<s>`` (no answer)."""
    import torch

    allowed = torch.zeros((len(rows), width), dtype=torch.bool)
    for b, row in enumerate(rows):
        allowed[b, 0] = True
        allowed[b, : len(row.owner)] |= torch.tensor(row.owner) >= 0
    return allowed


def _loss(logits: Any, rows: Sequence[SpanRow]) -> Any:
    import torch

    allowed = _allowed(rows, logits.shape[1])
    masked = logits.masked_fill(~allowed[..., None], -1e4)
    starts = torch.tensor([r.start for r in rows])
    ends = torch.tensor([r.end for r in rows])
    cross = torch.nn.functional.cross_entropy
    return 0.5 * (cross(masked[..., 0], starts) + cross(masked[..., 1], ends))


def read_spans(network: Any, tokenizer: Any, item: SpanItem) -> tuple[int, float, np.ndarray]:
    """The sentence the best span starts in, the best span's score minus the null score,
    and per sentence its best span's score minus the null (network in eval)."""
    import torch

    row = encode_span(tokenizer, item)
    ids, mask = batch_tensors([row.ids], tokenizer.special["pad"])
    with torch.inference_mode():
        logits = network(ids, mask)[0].numpy().astype(np.float64)
    owner = np.asarray(row.owner)
    inside = np.flatnonzero(owner >= 0)
    null = logits[0, 0] + logits[0, 1]
    best = np.full(len(item.sentences), -np.inf)
    if len(inside) == 0:
        return -1, -np.inf, best - null
    start, end = logits[inside, 0], logits[inside, 1]
    # A span stays within one sentence and MAX_SPAN tokens.
    total = start[:, None] + end[None, :]
    i, j = np.indices(total.shape)
    same = owner[inside][:, None] == owner[inside][None, :]
    total[(j < i) | (j - i >= MAX_SPAN) | ~same] = -np.inf
    for sentence in range(len(item.sentences)):
        mine = owner[inside] == sentence
        if mine.any():
            best[sentence] = total[mine].max()
    first = int(np.argmax(best))
    return first, float(best[first] - null), best - null


def train_span(
    network: Any,
    tokenizer: Any,
    items: Sequence[SpanItem],
    work: Path,
    options: SpanOptions,
    report: Callable[[str], None] = print,
    evaluate: Callable[[Any, int], None] | None = None,
) -> None:
    """Fine-tune ``network`` on ``items``; a checkpoint in ``work`` makes a rerun resume."""
    import torch

    torch.manual_seed(options.seed)
    torch.set_num_threads(options.threads)
    rng = random.Random(options.seed)
    chosen = list(items)
    rng.shuffle(chosen)
    chosen = chosen[: options.max_items]
    rows = [encode_span(tokenizer, i) for i in chosen]
    # An answer past MAX_TOKENS (or not found in the tokens) cannot be read.
    kept = [k for k, (i, r) in enumerate(zip(chosen, rows, strict=True)) if not i.gold or r.start]
    batches = length_batches(kept, lambda k: len(rows[k].ids), options.batch_size, rng)
    unanswerable = sum(not chosen[k].gold for k in kept)
    report(f"{len(kept)} questions ({unanswerable} unanswerable), {len(batches)} batches")
    pad = tokenizer.special["pad"]

    def loss_of(batch: list[int]) -> Any:
        read = [rows[k] for k in batch]
        ids, mask = batch_tensors([r.ids for r in read], pad)
        return _loss(network(ids, mask), read)

    rates = (options.learning_rate, options.head_learning_rate)
    path = work / CHECKPOINT
    train_with_head(network, "span", rates, batches, loss_of, path, options, report, evaluate)
