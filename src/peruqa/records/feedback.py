"""Visitors' feedback on answers, kept in SQLite so it survives restarts and redeploys.

A client sends the answer's text, but the store keeps only its id (``answer_id``): what
the bot said is read back from the query log, never from what a client claims it said.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from peruqa.errors import FeedbackStorageError, InvalidFeedbackError
from peruqa.records.querylog import answer_id
from peruqa.text.languages import DEFAULT_LANGUAGE

Reason = Literal["wrong", "outdated", "missing_source", "wrong_language"]
REASONS: tuple[str, ...] = get_args(Reason)
ExportFormat = Literal["csv", "jsonl"]
FEEDBACK_FILE = "feedback.sqlite3"
MAX_TEXT_CHARS = 5000
# A document id is a file's stem; past this it is not one of ours, and is cut (the form) or
# refused (the API).
MAX_DOC_ID_CHARS = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    reason TEXT,
    language TEXT NOT NULL,
    build TEXT,
    doc_id TEXT,
    confidence REAL,
    answer_id TEXT
)
"""
# Columns added after the first release; older databases get them on first open. Rows
# written before answer_id have the client's answer text instead (the id is derived).
_ADDED = {"build": "TEXT", "doc_id": "TEXT", "confidence": "REAL", "answer_id": "TEXT"}
_READ = (
    "id",
    "created_at",
    "question",
    "answer",
    "helpful",
    "reason",
    "language",
    "build",
    "doc_id",
    "confidence",
    "answer_id",
)
_COLUMNS = (
    "id",
    "created_at",
    "question",
    "answer_id",
    "helpful",
    "reason",
    "language",
    "build",
    "doc_id",
    "confidence",
)


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    created_at: str  # ISO 8601, UTC
    question: str
    answer_id: str | None  # the answer's id in the query log (peruqa.records.querylog)
    helpful: bool
    reason: str | None
    language: str
    build: str | None = None  # the index build that gave the answer
    doc_id: str | None = None  # the document the answer quoted
    confidence: float | None = None


class FeedbackStore:
    """Append-only feedback table. One connection per call: safe across server threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    @classmethod
    def in_folder(cls, data_dir: Path) -> FeedbackStore:
        return cls(data_dir / FEEDBACK_FILE)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10)
            if not self._ready:
                with connection:
                    connection.execute(_SCHEMA)
                    present = {row[1] for row in connection.execute("PRAGMA table_info(feedback)")}
                    for name, kind in _ADDED.items():
                        if name not in present:
                            connection.execute(f"ALTER TABLE feedback ADD COLUMN {name} {kind}")
                self._ready = True
        except (OSError, sqlite3.Error) as error:
            raise FeedbackStorageError(f"Cannot open the feedback database: {error}") from error
        return connection

    def add(
        self,
        question: str,
        answer: str,
        helpful: bool,
        reason: str | None = None,
        language: str = DEFAULT_LANGUAGE,
        build: str | None = None,
        doc_id: str | None = None,
        confidence: float | None = None,
    ) -> FeedbackRecord:
        question, answer = question.strip(), answer.strip()
        if not question:
            raise InvalidFeedbackError("Feedback needs the question it is about.")
        if len(question) > MAX_TEXT_CHARS or len(answer) > MAX_TEXT_CHARS:
            raise InvalidFeedbackError(
                f"Question and answer are limited to {MAX_TEXT_CHARS} characters."
            )
        try:
            # Lone surrogates (from raw JSON escapes) cannot be stored as UTF-8 text.
            (question + answer + language).encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidFeedbackError("Feedback text is not valid Unicode.") from error
        reason = reason or None
        if reason is not None and reason not in REASONS:
            raise InvalidFeedbackError(
                f"Unknown reason '{reason}'; use one of {', '.join(REASONS)}."
            )
        created = datetime.now(UTC).isoformat(timespec="seconds")
        # Blank answer: feedback on no particular answer (the page's general form).
        said = answer_id(question, answer) if answer else None
        connection = self._connect()
        try:
            with connection:
                cursor = connection.execute(
                    "INSERT INTO feedback (created_at, question, answer, answer_id, helpful,"
                    " reason, language, build, doc_id, confidence)"
                    " VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?)",
                    (
                        created,
                        question,
                        said,
                        int(helpful),
                        reason,
                        language,
                        build,
                        doc_id,
                        confidence,
                    ),
                )
        except sqlite3.Error as error:
            raise FeedbackStorageError(f"Cannot save feedback: {error}") from error
        finally:
            connection.close()
        row_id = cursor.lastrowid
        assert row_id is not None
        return FeedbackRecord(
            row_id, created, question, said, helpful, reason, language, build, doc_id, confidence
        )

    def list(self) -> list[FeedbackRecord]:
        return list(self._rows())

    def _rows(self) -> Iterator[FeedbackRecord]:
        if not self.path.exists():
            return  # nothing recorded yet; do not create a database just to read it
        connection = self._connect()
        try:
            rows = connection.execute(f"SELECT {', '.join(_READ)} FROM feedback ORDER BY id")
            for row in rows:
                question, text, said = row[2], row[3], row[10]
                yield FeedbackRecord(
                    int(row[0]),
                    row[1],
                    question,
                    said or (answer_id(question, text) if text else None),
                    bool(row[4]),
                    row[5],
                    row[6],
                    row[7],
                    row[8],
                    row[9],
                )
        except sqlite3.Error as error:
            raise FeedbackStorageError(f"Cannot read feedback: {error}") from error
        finally:
            connection.close()

    def export(self, fmt: str) -> str:
        """All feedback as CSV (with a header row) or JSON lines."""
        if fmt not in get_args(ExportFormat):
            raise InvalidFeedbackError(f"Unknown export format '{fmt}'; use csv or jsonl.")
        records = self.list()
        if fmt == "jsonl":
            return "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in records)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for record in records:
            writer.writerow([_csv_cell(value) for value in asdict(record).values()])
        return out.getvalue()


def _csv_cell(value: object) -> object:
    # Spreadsheets run cells starting with = + - @ as formulas; visitors' text must not run.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    if value is None:
        return ""
    return value
