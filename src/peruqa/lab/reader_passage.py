"""A research trial for issue 21: the passage reader.

The pairwise reader reads the question with one sentence at a time, and its answering
sentence comes first for about 0.875 of held-out questions whatever the recipe
(bench/reader_research.md). The passage reader reads the question with the whole
paragraph at once, as a span head would, so each sentence is read in its context: every
sentence is scored from the mean of its own tokens, and a "no answer" score from the mean
of all tokens competes with them (SQuAD 2.0's null option). It starts from a trained
pairwise reader, whose head scores the sentences at first exactly as it would alone.

Not served: this module trains and measures, and ``PassageReads`` lets the decision's fit
(``lab/reader_rows``) weigh what the passage reader would add through the real pipeline.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from peruqa.lab.checkpoint import Checkpoint, Pace, due, measure_if_due, optimise
from peruqa.lab.reader_file import freeze_embeddings, trained_names
from peruqa.lab.reader_passage_items import PassageItem
from peruqa.lab.reader_train import warm_up_then_decay
from peruqa.qa.candidates import Candidate
from peruqa.qa.reader import PREFIX, QUESTION_TOKENS, batch_tensors

MAX_TOKENS = 320  # question and paragraph; sentences past it are not read
CHECKPOINT = "passage-checkpoint.pt"  # in a passage run's work folder
PAIR_CHECKPOINT = "reader-checkpoint-0.pt"  # in the pairwise stage's folder it grows from


@dataclass(frozen=True)
class PassageOptions:
    seed: int = 13
    batch_size: int = 8
    learning_rate: float = 3e-5
    null_learning_rate: float = 5e-3
    warmup_share: float = 0.1
    max_items: int | None = 6000
    # Questions at the start of the seeded order left out: a second run trains on the
    # questions the first one (``max_items`` of them) never saw.
    skip_items: int = 0
    checkpoint_every: int = 25
    evaluate_every: int = 0
    threads: int = 2


def encode_passage(
    tokenizer: Any, question: str, sentences: Sequence[str]
) -> tuple[list[int], list[int]]:
    """Token ids ``<s> query: question </s></s> sentence sentence ... </s>`` and, per token,
    the sentence it belongs to (-1 for the question and the markers)."""
    ids = tokenizer.ids([PREFIX + question, *sentences])
    bos, eos = tokenizer.special["bos"], tokenizer.special["eos"]
    row = [bos, *ids[0][:QUESTION_TOKENS], eos, eos]
    owner = [-1] * len(row)
    for index, sentence in enumerate(ids[1:]):
        piece = sentence[: MAX_TOKENS - 1 - len(row)]
        row += piece
        owner += [index] * len(piece)
    return [*row, eos], [*owner, -1]


def make_passage_network(pair_network: Any) -> Any:
    """The passage reader, from a pairwise reader's encoder and head."""
    import torch

    class PassageNetwork(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = pair_network.encoder
            self.head = pair_network.head
            self.null = torch.nn.Linear(self.head[1].in_features, 1)
            torch.nn.init.zeros_(self.null.weight)
            torch.nn.init.zeros_(self.null.bias)

        def forward(
            self, ids: torch.Tensor, mask: torch.Tensor, owners: list[list[int]]
        ) -> list[torch.Tensor]:
            """Per item: its sentences' scores, then the no-answer score."""
            hidden = self.encoder(ids, mask)
            out = []
            for b, owner in enumerate(owners):
                tokens = torch.tensor(owner)
                count = int(tokens.max()) + 1
                member = (tokens[None, :] == torch.arange(count)[:, None]).to(hidden.dtype)
                own = hidden[b, : len(owner)]
                pooled = member @ own / member.sum(1, keepdim=True).clamp(min=1.0)
                scores = self.head(pooled).squeeze(-1)
                null = self.null(own.mean(0, keepdim=True)).reshape(1)
                out.append(torch.cat([scores, null]))
            return out

    return PassageNetwork()


def load_passage_network(init: Path, passage: Path | None = None) -> tuple[Any, Any]:
    """The passage reader grown from the pairwise stage in ``init``, with the weights of
    the passage run in ``passage`` when given, and its tokenizer."""
    import torch

    from peruqa.qa.reader import make_network
    from peruqa.qa.reader_base import E5Tokenizer, package_file, read_e5_file

    base = read_e5_file(package_file())
    pair = make_network(base)
    freeze_embeddings(pair)
    saved = torch.load(init / PAIR_CHECKPOINT, weights_only=False)
    pair.load_state_dict(saved["network"], strict=False)
    network = make_passage_network(pair)
    if passage is not None:
        earlier = torch.load(passage / CHECKPOINT, weights_only=False)
        network.load_state_dict(earlier["network"], strict=False)
    return network, E5Tokenizer(base)


def _loss(outputs: list[Any], items: list[PassageItem]) -> Any:
    import torch

    losses = []
    for scores, item in zip(outputs, items, strict=True):
        read = len(scores) - 1
        right = [i for i in item.gold if i < read] if item.gold else [read]
        losses.append(torch.logsumexp(scores, 0) - torch.logsumexp(scores[right], 0))
    return torch.stack(losses).mean()


def score_passage(
    network: Any, tokenizer: Any, question: str, sentences: Sequence[str]
) -> np.ndarray:
    """The scores of the sentences read (those within ``MAX_TOKENS``), then the no-answer
    score (network in eval)."""
    import torch

    row, owner = encode_passage(tokenizer, question, sentences)
    if max(owner) < 0:  # not one sentence fits: only the no-answer score
        return np.full(1, np.inf)
    ids, mask = batch_tensors([row], tokenizer.special["pad"])
    with torch.inference_mode():
        scores: np.ndarray = network(ids, mask, [owner])[0].numpy().astype(np.float64)
    return scores


def score_items(network: Any, tokenizer: Any, items: Sequence[PassageItem]) -> list[np.ndarray]:
    """Per item: its read sentences' scores, then the no-answer score (network in eval)."""
    return [score_passage(network, tokenizer, i.question, i.sentences) for i in items]


@dataclass(frozen=True)
class PassageReads:
    """The passage reader as the decision's rows see it (``reader_rows.CandidateReads``):
    it reads the ranker's top candidate's whole passage, and gives each of its sentences
    the probability that it, rather than no answer, answers."""

    network: Any
    tokenizer: Any
    digest: str
    width: int = 16  # a 700-character chunk rarely holds more sentences

    def read(self, question: str, ranked: list[Candidate]) -> tuple[list[int], np.ndarray]:
        if not ranked:
            return [], np.zeros(0)
        chunk = ranked[0].passage.chunk
        where = {(c.passage.chunk.doc_id, c.sentence.start): k for k, c in enumerate(ranked)}
        texts = [s.text for s in chunk.sentences]
        scores = score_passage(self.network, self.tokenizer, question, texts)
        null = scores[-1]
        found = sorted(
            (where[key], float(score - null))
            for sentence, score in zip(chunk.sentences, scores[:-1], strict=False)
            if (key := (chunk.doc_id, sentence.start)) in where
        )[: self.width]
        margins = np.asarray([m for _, m in found], dtype=np.float64)
        return [k for k, _ in found], 1.0 / (1.0 + np.exp(-margins))


def first_share(network: Any, tokenizer: Any, items: Sequence[PassageItem]) -> float:
    """Share of answerable ``items`` whose answering sentence scores highest of its
    paragraph's sentences (the no-answer score left out)."""
    answerable = [i for i in items if i.gold]
    scored = score_items(network, tokenizer, answerable)
    first = sum(int(np.argmax(s[:-1])) in i.gold for s, i in zip(scored, answerable, strict=True))
    return first / max(len(answerable), 1)


class Steps(Protocol):
    """What a run with a head at its own rate needs of its options."""

    @property
    def batch_size(self) -> int: ...
    @property
    def warmup_share(self) -> float: ...
    @property
    def checkpoint_every(self) -> int: ...
    @property
    def evaluate_every(self) -> int: ...


def length_batches(
    kept: list[int], length: Callable[[int], int], size: int, rng: random.Random
) -> list[list[int]]:
    """``kept`` in batches of similar length (less padding), the batches in a seeded order."""
    order = sorted(kept, key=length)
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def train_with_head(
    network: Any,
    head: str,
    rates: tuple[float, float],
    batches: list[list[int]],
    loss_of: Callable[[list[int]], Any],
    path: Path,
    steps: Steps,
    report: Callable[[str], None],
    evaluate: Callable[[Any, int], None] | None,
) -> None:
    """One schedule over ``batches``: the trained layers at ``rates[0]`` (weight decay
    0.01), the module ``head`` (a new score) at ``rates[1]``; a checkpoint at ``path``
    makes a rerun resume."""
    import torch

    names = set(trained_names(network))
    layers = [
        p for n, p in network.named_parameters() if n in names and not n.startswith(f"{head}.")
    ]
    own = list(getattr(network, head).parameters())
    optimiser = torch.optim.AdamW(
        [
            {"params": layers, "lr": rates[0], "weight_decay": 0.01},
            {"params": own, "lr": rates[1]},
        ]
    )
    scheduler = warm_up_then_decay(optimiser, len(batches), steps.warmup_share)
    saving = Checkpoint(path, network, names, optimiser, scheduler, len(batches))
    start = saving.resume(report)["step"]
    network.train()
    pace = Pace(start, len(batches))
    for step in range(start, len(batches)):
        pace.add(optimise(loss_of(batches[step]), [*layers, *own], optimiser, scheduler))
        done = step + 1
        if due(done, len(batches), steps.checkpoint_every):
            report(pace.line(done))
            saving.save(done)
        measure_if_due(
            network, evaluate, done, len(batches), steps.evaluate_every, done * steps.batch_size
        )
    network.eval()


def train_passage(
    network: Any,
    tokenizer: Any,
    items: Sequence[PassageItem],
    work: Path,
    options: PassageOptions,
    report: Callable[[str], None] = print,
    evaluate: Callable[[Any, int], None] | None = None,
) -> None:
    """Fine-tune ``network`` on ``items``; a checkpoint in ``work`` makes a rerun resume."""
    import torch

    torch.manual_seed(options.seed)
    torch.set_num_threads(options.threads)
    rng = random.Random(options.seed)
    chosen = [i for i in items if len(i.sentences) >= 2 or not i.gold]
    rng.shuffle(chosen)
    end = None if options.max_items is None else options.skip_items + options.max_items
    chosen = chosen[options.skip_items : end]
    rows = [encode_passage(tokenizer, i.question, i.sentences) for i in chosen]
    # An answer past MAX_TOKENS cannot be read: such items teach nothing.
    kept = [
        k
        for k, (item, (_, owner)) in enumerate(zip(chosen, rows, strict=True))
        if not item.gold or min(item.gold) <= max(owner)
    ]
    batches = length_batches(kept, lambda k: len(rows[k][0]), options.batch_size, rng)
    unanswerable = sum(not chosen[k].gold for k in kept)
    report(f"{len(kept)} questions ({unanswerable} unanswerable), {len(batches)} batches")
    pad = tokenizer.special["pad"]

    def loss_of(batch: list[int]) -> Any:
        ids, mask = batch_tensors([rows[k][0] for k in batch], pad)
        return _loss(network(ids, mask, [rows[k][1] for k in batch]), [chosen[k] for k in batch])

    rates = (options.learning_rate, options.null_learning_rate)
    path = work / CHECKPOINT
    train_with_head(network, "null", rates, batches, loss_of, path, options, report, evaluate)
