"""What visitors ask, from the query log and the feedback: ``peruqa report`` and /admin/report.

- the most-asked questions;
- the most-declined ones: the library's content gaps;
- "not helpful" answers with their reasons and documents, each with what the bot said as
  the query log recorded it (feedback keeps only the answer's id);
- daily volume and decline rate, drawn as a small inline SVG (no script).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from peruqa.config import default
from peruqa.records.feedback import FeedbackRecord

NOT_LOGGED = "(no such answer in the query log)"


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD (UTC)
    asked: int
    declined: int

    @property
    def decline_rate(self) -> float:
        return self.declined / self.asked if self.asked else 0.0


@dataclass
class Report:
    asked: int = 0
    declined: int = 0
    most_asked: list[tuple[str, int]] = field(default_factory=list)
    most_declined: list[tuple[str, int]] = field(default_factory=list)
    unhelpful: list[FeedbackRecord] = field(default_factory=list)
    # answer id -> the answer as the query log recorded it, for the unhelpful ones found.
    answers: dict[str, str] = field(default_factory=dict)
    days: list[Day] = field(default_factory=list)

    def said(self, record: FeedbackRecord) -> str | None:
        """What the bot answered to the feedback's question, or None when the query log
        holds no such answer (switched off, rotated away, or never said)."""
        return self.answers.get(record.answer_id) if record.answer_id else None


def read_query_log(
    path: Path, backups: int = default("query_log_backups")
) -> Iterator[dict[str, object]]:
    """Entries of the log and its rotated files (oldest first); damaged lines are skipped."""
    files = [path.with_name(f"{path.name}.{n}") for n in range(backups, 0, -1)] + [path]
    for file in files:
        if not file.is_file():
            continue
        with file.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("question"), str):
                    yield entry


def _key(question: str) -> str:
    return " ".join(question.casefold().split())


def build_report(
    entries: Iterable[dict[str, object]], feedback: Iterable[FeedbackRecord], top: int = 10
) -> Report:
    asked: Counter[str] = Counter()
    declined: Counter[str] = Counter()
    shown: dict[str, str] = {}  # folded question -> first wording seen
    per_day: dict[str, list[int]] = {}
    report = Report()
    report.unhelpful = [record for record in feedback if not record.helpful][-top * 5 :]
    wanted = {record.answer_id for record in report.unhelpful if record.answer_id}
    for entry in entries:
        said = entry.get("answer_id")
        if said in wanted and isinstance(entry.get("answer"), str):
            report.answers[str(said)] = str(entry["answer"])
        question = str(entry["question"])
        key = _key(question)
        shown.setdefault(key, question)
        asked[key] += 1
        report.asked += 1
        day = per_day.setdefault(str(entry.get("time", ""))[:10] or "unknown", [0, 0])
        day[0] += 1
        if entry.get("abstained") is True:
            declined[key] += 1
            report.declined += 1
            day[1] += 1
    report.most_asked = [(shown[k], n) for k, n in asked.most_common(top)]
    report.most_declined = [(shown[k], n) for k, n in declined.most_common(top)]
    report.days = [Day(day, n, d) for day, (n, d) in sorted(per_day.items())]
    return report


def render_text(report: Report) -> str:
    rate = report.declined / report.asked if report.asked else 0.0
    lines = [f"Questions: {report.asked}, declined: {report.declined} ({rate:.0%})", ""]
    lines.append("Most asked:")
    lines += [f"  {n:5d}  {q}" for q, n in report.most_asked] or ["  (none)"]
    lines += ["", "Most declined (content gaps):"]
    lines += [f"  {n:5d}  {q}" for q, n in report.most_declined] or ["  (none)"]
    lines += ["", "Not helpful:"]
    for record in report.unhelpful:
        where = f" [{record.doc_id}]" if record.doc_id else ""
        lines.append(
            f"  {record.created_at[:10]}  {record.reason or 'no reason'}{where}: {record.question}"
        )
        lines.append(f"      answered: {report.said(record) or NOT_LOGGED}")
    if not report.unhelpful:
        lines.append("  (none)")
    lines += ["", "Per day (asked, declined):"]
    lines += [
        f"  {d.day}  {d.asked:5d}  {d.declined:5d}  {d.decline_rate:.0%}" for d in report.days
    ]
    return "\n".join(lines) + "\n"


def daily_svg(days: list[Day], width: int = 600, height: int = 160) -> str:
    """Bars for the daily volume, a line for the decline rate (0–100 % on the same height)."""
    if not days:
        return ""
    days = days[-60:]
    peak = max(d.asked for d in days) or 1
    step = width / len(days)
    bars = []
    points = []
    for i, d in enumerate(days):
        h = (height - 20) * d.asked / peak
        x = i * step
        bars.append(
            f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="#7aa6c2"><title>{escape(d.day)}: {d.asked} asked, '
            f"{d.declined} declined</title></rect>"
        )
        points.append(f"{x + step / 2:.1f},{height - (height - 20) * d.decline_rate:.1f}")
    line = f'<polyline points="{" ".join(points)}" fill="none" stroke="#c0392b" stroke-width="2"/>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-label="Questions per day (bars) and decline rate (line)">'
        + "".join(bars)
        + line
        + "</svg>"
    )
