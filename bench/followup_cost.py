"""What reading a follow-up costs: deciding whether a question leans on the earlier turns,
finding what it carries, and favouring the earlier document in retrieval.

Run from the project root (``make bench`` runs it after bench/run.py):

    .venv/bin/python bench/followup_cost.py [eval/conv_dev.jsonl]

Each conversation's turns are asked once with the real models to get the bot's own answers
as history; then only the follow-up work is timed, many times over, on the last question:
``FollowUps.read`` (decide and resolve) plus analysing the question it gives, less what
analysing the bare question costs anyway, and the retrieval's extra work for the favoured
document. The target is 2 ms per question.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from peruqa.config import get_settings
from peruqa.evaluation.conversations import earlier_turn, load_conversations
from peruqa.qa.conversation import Turn
from peruqa.qa.followup import FollowUps, favour
from peruqa.qa.question import analyse
from peruqa.qa.service import QAService

REPEATS = 200
TARGET_MS = 2.0


def per_call_ms(work: object, repeats: int = REPEATS) -> float:
    assert callable(work)
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    return (time.perf_counter() - started) * 1000 / repeats


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "eval/conv_dev.jsonl")
    service = QAService(get_settings())
    snapshot = service.snapshot
    started = time.perf_counter()
    followups = FollowUps(snapshot.data)
    built_ms = (time.perf_counter() - started) * 1000
    print(f"names and quotes of the index ({len(snapshot.data.chunks)} chunks): {built_ms:.1f} ms")

    cases: list[tuple[str, list[Turn]]] = []
    for conversation in load_conversations(path):
        turns: list[Turn] = []
        for question in conversation.turns[:-1]:
            turns.append(earlier_turn(service.reply(question, history=turns), question))
        cases.append((conversation.turns[-1], turns))

    reading, favouring = [], []
    carried = 0
    for question, turns in cases:
        read = followups.read(question, turns)
        carried += read.context is not None
        full = per_call_ms(lambda q=question, t=turns: followups.read(q, t).question())
        bare = per_call_ms(lambda q=question: analyse(q))
        reading.append(max(full - bare, 0.0))
        if read.doc_id is not None:
            query = snapshot.retriever.embed(read.question())
            favoured = favour(read)
            retriever = snapshot.retriever
            with_doc = per_call_ms(lambda q=query, f=favoured, r=retriever: r.retrieve(q, 5, f), 50)
            without = per_call_ms(lambda q=query, r=retriever: r.retrieve(q, 5), 50)
            favouring.append(max(with_doc - without, 0.0))

    costs = sorted(reading)
    print(
        f"deciding and carrying, per question with history ({len(cases)} questions, "
        f"{carried} read as follow-ups): mean {statistics.fmean(costs):.3f} ms, "
        f"p95 {costs[int(0.95 * (len(costs) - 1))]:.3f} ms, max {costs[-1]:.3f} ms "
        f"(target {TARGET_MS:.0f} ms)"
    )
    if favouring:
        print(
            f"favouring the earlier document in retrieval: mean "
            f"{statistics.fmean(favouring):.3f} ms, max {max(favouring):.3f} ms "
            f"({len(favouring)} questions)"
        )
    worst = costs[-1] + (max(favouring) if favouring else 0.0)
    print(f"worst case, both together: {worst:.3f} ms per question")
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
