"""The maintainers' query log: one JSON line per answered question, rotated by size.

It records what was asked, what the bot answered (with the answer's id, which feedback
keeps instead of the answer's text) and how it fared (language, abstained, confidence,
latency) so maintainers can find gaps in the corpus. It stores no client address unless
``log_client_ip`` is set, and ``query_log = false`` switches it off entirely.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from filelock import FileLock

from peruqa.config import Settings
from peruqa.qa.answering import Answer

log = logging.getLogger("peruqa.records.querylog")

FILE_NAME = "queries.log"


def answer_id(question: str, answer: str) -> str:
    """The id of one answer to one question, as /ask returned both: the query log writes it
    beside the answer, and feedback keeps it instead of any answer text a client sends."""
    digest = hashlib.sha256(f"{question}\0{answer}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


class SharedRotatingFileHandler(RotatingFileHandler):
    """A rotating log that several worker processes can share.

    Each write takes a file lock, and a worker whose open file was rotated away by another
    worker reopens the current one first; plain ``RotatingFileHandler`` in two processes
    rotates twice and loses lines.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        super().__init__(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
        )
        self._file_lock = FileLock(str(path) + ".lock")

    def _rotated_elsewhere(self) -> bool:
        if self.stream is None:
            return False
        try:
            return os.stat(self.baseFilename).st_ino != os.fstat(self.stream.fileno()).st_ino
        except OSError:
            return True  # the file was moved and not recreated yet

    def emit(self, record: logging.LogRecord) -> None:
        with self._file_lock:
            if self.stream is not None and self._rotated_elsewhere():
                # Dropped before reopening: a failed reopen (the path is a folder for a
                # while) leaves no stream rather than a closed one, so the next write
                # tries the path again (delay=True opens on write) instead of failing on
                # the closed file for good.
                stream, self.stream = self.stream, None
                stream.close()
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        # One line per lost entry rather than logging's traceback on stderr; the next
        # write tries the file again.
        error = sys.exc_info()[1]
        reason = error.strerror if isinstance(error, OSError) else error
        log.warning("Query log entry lost (%s); the next one tries again.", reason)


class QueryLog:
    def __init__(self, path: Path, max_bytes: int, backups: int, include_ip: bool = False) -> None:
        self.path = path
        self.include_ip = include_ip
        path.parent.mkdir(parents=True, exist_ok=True)
        # A private logger object (not registered by name), so apps in one process with
        # different data folders never share a file; delay=True opens it on first write.
        self._logger = logging.Logger(f"peruqa.records.querylog.{path}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        handler = SharedRotatingFileHandler(path, max_bytes, backups)
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._logger.addHandler(handler)

    def record(
        self,
        answer: Answer,
        latency_ms: float,
        client_ip: str | None = None,
        build: str | None = None,
    ) -> None:
        entry: dict[str, object] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "question": answer.question,
            "answer": answer.answer,
            "answer_id": answer_id(answer.question, answer.answer),
            "language": answer.language,
            "abstained": answer.abstained,
            "confidence": round(answer.confidence, 4),
            "latency_ms": round(latency_ms, 2),
            # What the answer rested on, for `peruqa report`.
            "doc_id": answer.citations[0].doc_id if answer.citations else None,
            "build": build,
        }
        if self.include_ip and client_ip:
            entry["client_ip"] = client_ip
        try:
            self._logger.info(json.dumps(entry, ensure_ascii=False))
        except Exception:  # pragma: no cover - logging must never fail a question
            log.exception("Could not write the query log")

    def close(self) -> None:
        for handler in list(self._logger.handlers):
            handler.close()
            self._logger.removeHandler(handler)


def make_query_log(settings: Settings) -> QueryLog | None:
    """The query log the settings ask for, or None when it is switched off."""
    if not settings.query_log:
        return None
    try:
        return QueryLog(
            settings.data_dir / FILE_NAME,
            settings.query_log_max_bytes,
            settings.query_log_backups,
            settings.log_client_ip,
        )
    except OSError as exc:
        # An unwritable data folder must not keep the service from answering.
        log.warning("Query log disabled: %s", exc.strerror or exc)
        return None
