"""Precision against coverage: what each answer threshold would cost and gain.

``peruqa eval`` asks every question once more with the threshold at 0, so that each
answerable question has the quote the bot would give and the probability it gave it. At a
threshold t the bot answers when that probability is at least t (the cascade's first stage
answers only when sure, and never declines, so its answers count at every t). Per row:
  answered   share of answerable questions answered at t (coverage)
  right      share of those answers whose quote holds the expected text (precision)
  declined   share of unanswerable questions declined at t
The served threshold (PERUQA_ABSTAIN_THRESHOLD, else the trained one) is marked.
"""

from __future__ import annotations

from peruqa.evaluation.evaluate import EvalResult

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def answered_at(result: EvalResult, threshold: float) -> bool:
    return result.stage == "first" or result.confidence >= threshold


def table(open_results: list[EvalResult], default: float) -> str:
    """The table for results gathered with the threshold at 0 (every question answered)."""
    answerable = [r for r in open_results if r.item.answerable]
    unanswerable = [r for r in open_results if not r.item.answerable]
    lines = ["threshold  answered  right  declined (unanswerable)"]
    for threshold in sorted({*THRESHOLDS, round(default, 4)}):
        answered = [r for r in answerable if answered_at(r, threshold)]
        coverage = len(answered) / len(answerable) if answerable else 0.0
        right = sum(r.correct for r in answered) / len(answered) if answered else 0.0
        declined = (
            sum(not answered_at(r, threshold) for r in unanswerable) / len(unanswerable)
            if unanswerable
            else 0.0
        )
        mark = "  <- default" if abs(threshold - default) < 1e-9 else ""
        lines.append(f"{threshold:9.2f}  {coverage:8.2f}  {right:5.2f}  {declined:8.2f}{mark}")
    return "\n".join(lines)
