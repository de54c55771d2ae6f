"""Fine-tuning the reader (``peruqa train --reader``): pairs in, ``reader.safetensors`` out.

Passes over the pairs of ``reader_data`` (articles held out for measurement are left out),
binary cross-entropy on the pooled logit, AdamW with warm-up, linear decay and gradient
clipping.
Batches group pairs of similar length, so little is spent on padding. A checkpoint is kept
in the work folder every ``checkpoint_every`` steps and a rerun resumes from it; with the
same pairs, seed and thread count the result is the same file.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from peruqa.lab.checkpoint import Checkpoint, Pace, due, measure_if_due, optimise
from peruqa.lab.reader_data import NEAR_MISS_KINDS, Pair, select_pairs
from peruqa.lab.reader_file import freeze_embeddings, save, trained_names
from peruqa.qa.reader import batch_tensors, encode_pairs, make_network


@dataclass(frozen=True)
class TrainOptions:
    seed: int = 13
    batch_size: int = 16
    learning_rate: float = 4e-5
    warmup_share: float = 0.10
    checkpoint_every: int = 50
    threads: int = 2
    max_pairs: int | None = None  # a cap on the pairs of each round (time on 2 cores)
    # Word embeddings stay as the base has them (they carry the languages' alignment);
    # every layer trains, which measured best (bench/reader_research.md).
    frozen_layers: int = 0
    rounds: int = 1  # passes, each over its own sample of pairs
    evaluate_every: int = 0  # steps between calls of ``train_reader``'s ``evaluate`` hook
    negatives: int | None = 1  # plain negatives per question, hardest first; None: all
    generated: bool = False  # train on generated near misses too
    # Listwise (``reader_listwise``): each question against ``group_size`` sentences and a
    # learned no-answer score, which has its own learning rate.
    listwise: bool = False
    group_size: int = 4
    null_learning_rate: float = 5e-3
    context: bool = False  # read the sentence before each candidate too (``qa/reader``)


def _tokenise(tokenizer: Any, pairs: Sequence[Pair], context: bool) -> list[list[int]]:
    return [
        encode_pairs(tokenizer, p.question, [p.sentence], [p.before] if context else None)[0]
        for p in pairs
    ]


def _batches(lengths: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of pairs of similar length (sorted within pools of 50 batches)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def _sample(pairs: Sequence[Pair], options: TrainOptions, rng: random.Random) -> list[Pair]:
    kinds = None if options.generated else frozenset({"positive", "paragraph", "plausible"})
    chosen = select_pairs(pairs, options.negatives, kinds)
    limit = options.max_pairs
    if limit is None or len(chosen) <= limit:
        return chosen
    # Near misses are the scarce lesson: keep them all, up to a quarter of the sample.
    scarce = [p for p in chosen if p.kind in NEAR_MISS_KINDS]
    common = [p for p in chosen if p.kind not in NEAR_MISS_KINDS]
    if len(scarce) > limit // 4:
        scarce = rng.sample(scarce, limit // 4)
    room = max(0, limit - len(scarce))
    return scarce + rng.sample(common, min(room, len(common)))


def train_reader(
    base: Any,
    tokenizer: Any,
    pairs: Sequence[Pair],
    output: Path,
    work: Path,
    options: TrainOptions,
    report: Callable[[str], None] = print,
    evaluate: Callable[[Any, int], None] | None = None,
    start: Any | None = None,
) -> Any:
    """Fine-tune on ``pairs`` and write ``output``; returns the trained network.
    ``start`` is a network to continue from (a later stage of a curve), else the base.
    ``evaluate(network, pairs_seen)`` is called every ``options.evaluate_every`` steps and
    at the end of each round (research curves; the network is back in training mode after).

    Each round samples its own pairs (seed + round) and runs its own warm-up and decay at
    a lower rate than the last, continuing from the previous round's weights."""
    import torch

    torch.manual_seed(options.seed)
    torch.set_num_threads(options.threads)
    network = start
    if network is None:
        network = make_network(base)
        freeze_embeddings(network, options.frozen_layers)
    if options.listwise:
        from peruqa.lab.reader_listwise import train_listwise

        seen = train_listwise(network, tokenizer, pairs, work, options, report, evaluate)
        network.eval()
        save(network, output, _meta(seen, options))
        return network
    sampled = 0
    for round_ in range(options.rounds):
        seed = options.seed + round_
        rng = random.Random(seed)
        chosen = _sample(pairs, options, rng)
        sampled += len(chosen)
        rows = _tokenise(tokenizer, chosen, options.context)
        labels = [p.label for p in chosen]
        batches = _batches([len(r) for r in rows], options.batch_size, rng)
        if start is not None or round_ > 0:
            torch.manual_seed(seed)
        _train_round(
            network,
            tokenizer,
            rows,
            labels,
            batches,
            work / f"reader-checkpoint-{round_}.pt",
            seed,
            options.learning_rate / (1 + round_),
            options,
            report,
            evaluate,
            sampled - len(chosen),
        )
    assert network is not None
    network.eval()
    save(network, output, _meta(sampled, options))
    return network


def _meta(pairs: int, options: TrainOptions) -> dict[str, Any]:
    # "context" tells ``Reader.load`` to read the sentence before each candidate too.
    return {"pairs": pairs, "context": options.context, "options": asdict(options)}


def warm_up_then_decay(optimiser: Any, steps: int, warmup_share: float) -> Any:
    """The learning rate rises linearly over the first ``warmup_share`` of ``steps``, then
    falls linearly to 0 at the last step."""
    import torch

    warmup = max(1, int(steps * warmup_share))

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, rate)


def _train_round(
    network: Any,
    tokenizer: Any,
    rows: list[list[int]],
    label_list: list[int],
    batches: list[list[int]],
    checkpoint: Path,
    seed: int,
    learning_rate: float,
    options: TrainOptions,
    report: Callable[[str], None],
    evaluate: Callable[[Any, int], None] | None = None,
    seen_before: int = 0,
) -> None:
    import torch

    labels = torch.tensor(label_list, dtype=torch.float32)
    names = set(trained_names(network))
    parameters = [p for n, p in network.named_parameters() if n in names]
    optimiser = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=0.01)
    scheduler = warm_up_then_decay(optimiser, len(batches), options.warmup_share)
    saving = Checkpoint(
        checkpoint, network, names, optimiser, scheduler, len(batches), {"seed": seed}
    )
    start = saving.resume(report)["step"]
    report(f"{len(rows)} pairs, {len(batches)} batches, {int(labels.sum())} positive")
    network.train()
    loss_fn = torch.nn.BCEWithLogitsLoss()
    pace = Pace(start, len(batches))
    seen = seen_before + sum(len(b) for b in batches[:start])  # pairs read, for the curve
    for step in range(start, len(batches)):
        batch = batches[step]
        seen += len(batch)
        ids, mask = batch_tensors([rows[i] for i in batch], tokenizer.special["pad"])
        loss = loss_fn(network(ids, mask), labels[batch])
        pace.add(optimise(loss, parameters, optimiser, scheduler))
        done = step + 1
        if due(done, len(batches), options.checkpoint_every):
            report(pace.line(done))
            saving.save(done)
        measure_if_due(network, evaluate, done, len(batches), options.evaluate_every, seen)
