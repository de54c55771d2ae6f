"""Listwise fine-tuning of the reader: each question read against a few candidate sentences
and a learned "no answer" score, one softmax over them.

Pairwise training asks "does this sentence answer?" one sentence at a time, and the scores
it gives say little about whether the best one answers at all. Here a question's group
holds its answering sentences and its hardest near misses; an unanswerable question (a
SQuAD 2.0 question, or a generated swap whose sentence no longer answers it) has the
no-answer option as its right choice. The no-answer score is one learned number with a
learning rate of its own (at the network's rate it never moved). At the end it is folded
into the head's bias, so the shipped reader's probability for a sentence is that of the
sentence beating "no answer": what the decision needs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peruqa.lab.checkpoint import Checkpoint, Pace, due, measure_if_due, optimise
from peruqa.lab.reader_data import NEAR_MISS_KINDS, Pair
from peruqa.lab.reader_file import trained_names
from peruqa.qa.reader import batch_tensors, encode_pairs

# Plain negatives come after near misses: those are the lesson a group is for.
_ORDER = {"plausible": 0, "generated": 0, "paragraph": 1, "article": 2}


@dataclass(frozen=True)
class Group:
    question: str
    sentences: tuple[str, ...]
    positives: tuple[int, ...]  # empty: no sentence answers, the no-answer option is right
    before: tuple[str, ...] = ()  # the sentence before each (``Pair.before``)


def groups_from(pairs: Sequence[Pair], size: int, generated: bool) -> list[Group]:
    """One group per question and wording: its answering sentences, then its near misses
    and hardest plain negatives, at most ``size`` sentences in all."""
    asked: dict[tuple[str, str, str], list[Pair]] = {}
    for pair in pairs:
        if pair.kind == "generated" and not generated:
            continue
        asked.setdefault((pair.qid, pair.language, pair.question), []).append(pair)
    groups = []
    for members in asked.values():
        positives = [p for p in members if p.label == 1][:size]
        others = sorted(
            (p for p in members if p.label == 0), key=lambda p: (_ORDER.get(p.kind, 3), p.rank)
        )
        chosen = positives + others[: size - len(positives)]
        if len(chosen) < 2 and not any(p.kind in NEAR_MISS_KINDS for p in chosen):
            continue  # one plain sentence against "no answer" teaches nothing
        groups.append(
            Group(
                members[0].question,
                tuple(p.sentence for p in chosen),
                tuple(range(len(positives))),
                tuple(p.before for p in chosen),
            )
        )
    return groups


def _batches(groups: list[Group], pairs_per_batch: int, rng: random.Random) -> list[list[int]]:
    order = list(range(len(groups)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for index in order:
        size = len(groups[index].sentences)
        if current and width + size > pairs_per_batch:
            batches.append(current)
            current, width = [], 0
        current.append(index)
        width += size
    if current:
        batches.append(current)
    return batches


def _loss(logits: Any, null: Any, groups: list[Group]) -> Any:
    """Mean over the batch's groups of -log P(right choice), the choices being the group's
    sentences and "no answer"."""
    import torch

    losses = []
    start = 0
    for group in groups:
        scores = torch.cat([logits[start : start + len(group.sentences)], null.view(1)])
        start += len(group.sentences)
        right = scores[list(group.positives)] if group.positives else null.view(1)
        losses.append(torch.logsumexp(scores, 0) - torch.logsumexp(right, 0))
    return torch.stack(losses).mean()


def train_listwise(
    network: Any,
    tokenizer: Any,
    pairs: Sequence[Pair],
    work: Path,
    options: Any,
    report: Callable[[str], None],
    evaluate: Callable[[Any, int], None] | None = None,
) -> int:
    """Fine-tune ``network`` listwise on groups of ``pairs`` (``options``: a
    ``reader_train.TrainOptions``), fold the no-answer score into its head, and return the
    number of pairs seen. A checkpoint in ``work`` makes a rerun resume."""
    import torch

    from peruqa.lab.reader_train import warm_up_then_decay

    rng = random.Random(options.seed)
    groups = groups_from(pairs, options.group_size, options.generated)
    rng.shuffle(groups)
    if options.max_pairs is not None:
        kept, total = [], 0
        for group in groups:
            if total >= options.max_pairs:
                break
            kept.append(group)
            total += len(group.sentences)
        groups = kept
    rows = [
        encode_pairs(tokenizer, g.question, g.sentences, g.before if options.context else None)
        for g in groups
    ]
    batches = _batches(groups, options.batch_size, rng)
    names = set(trained_names(network))
    parameters = [p for n, p in network.named_parameters() if n in names]
    null = torch.nn.Parameter(torch.zeros(()))
    optimiser = torch.optim.AdamW(
        [
            {"params": parameters, "lr": options.learning_rate, "weight_decay": 0.01},
            {"params": [null], "lr": options.null_learning_rate, "weight_decay": 0.0},
        ]
    )
    scheduler = warm_up_then_decay(optimiser, len(batches), options.warmup_share)
    saving = Checkpoint(
        work / "listwise-checkpoint.pt", network, names, optimiser, scheduler, len(batches)
    )
    saved = saving.resume(report)
    start = saved["step"]
    if start:
        null.data.fill_(saved["null"])
    answerable = sum(bool(g.positives) for g in groups)
    report(
        f"{len(groups)} groups ({answerable} answerable), "
        f"{sum(len(g.sentences) for g in groups)} pairs, {len(batches)} batches"
    )
    network.train()
    pad = tokenizer.special["pad"]
    pace = Pace(start, len(batches))
    seen = sum(len(groups[i].sentences) for b in batches[:start] for i in b)
    for step in range(start, len(batches)):
        members = [groups[i] for i in batches[step]]
        ids, mask = batch_tensors([row for i in batches[step] for row in rows[i]], pad)
        loss = _loss(network(ids, mask), null, members)
        pace.add(optimise(loss, [*parameters, null], optimiser, scheduler))
        seen += sum(len(g.sentences) for g in members)
        done = step + 1
        if due(done, len(batches), options.checkpoint_every):
            report(pace.line(done, f"no-answer {float(null):.2f} "))
            saving.save(done, null=float(null))
        measure_if_due(network, evaluate, done, len(batches), options.evaluate_every, seen)
    with torch.no_grad():
        # sigmoid(logit - no-answer): the probability the sentence beats "no answer".
        network.head[1].bias -= null
    return seen
