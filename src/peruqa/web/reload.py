"""Picking up a new index while serving: the admin token check, a cheap manifest watch and
a reload generation file that carries ``POST /admin/reload`` to every worker.

``QAService.load`` swaps in a complete snapshot, so requests already running finish on the
old index and later ones use the new one; nothing here blocks a request.

The admin call lands on one worker only. That worker reloads and writes a new generation
(a random token) to ``data_dir/reload-generation``; every worker's ``Reloader`` thread reads
that small file every ``reload_poll_s`` (0.25 s) and reloads when it changed, so all of
them, and replicas sharing the data folder, move within about a second.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from peruqa.errors import IndexCorruptError, PeruQAError
from peruqa.index.store import MANIFEST, read_manifest
from peruqa.qa.service import QAService

log = logging.getLogger("peruqa.web.reload")

GENERATION_FILE = "reload-generation"


def load_index(service: QAService) -> None:
    """``service.load()``, with any failure the loader did not name turned into
    ``IndexCorruptError`` (a 503 with code ``index_corrupt``), never a 500."""
    try:
        service.load()
    except PeruQAError:
        raise
    except Exception as exc:
        log.exception("The index could not be loaded")
        raise IndexCorruptError(
            "The index on disk is damaged or unreadable; rebuild it with 'peruqa index'."
        ) from exc


@dataclass(frozen=True)
class Denial:
    status: int
    code: str
    message: str


def admin_denial(admin_token: str | None, authorization: str | None) -> Denial | None:
    """Why an admin request is refused, or None when its bearer token is right."""
    if not admin_token:
        return Denial(
            404,
            "admin_disabled",
            "The admin endpoints are off: set PERUQA_ADMIN_TOKEN on the server to use them.",
        )
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Denial(401, "unauthorized", "Send the admin token as 'Authorization: Bearer …'.")
    if not hmac.compare_digest(token.strip().encode(), admin_token.encode()):
        return Denial(403, "forbidden", "The admin token is not valid.")
    return None


class IndexWatcher:
    """Reloads the service when index/manifest.json changes, checking at most every
    ``interval_s`` seconds, in a background thread so no request waits for it."""

    def __init__(self, service: QAService, interval_s: float) -> None:
        self.service = service
        self.interval_s = interval_s
        self._next_check = time.monotonic() + interval_s
        self._lock = threading.Lock()
        self._busy = False
        self._seen: tuple[int, int] | None = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = (self.service.settings.index_dir / MANIFEST).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_ino

    def poke(self) -> None:
        """Cheap enough for every request: a clock read unless a check is due."""
        if self.interval_s <= 0 or time.monotonic() < self._next_check:
            return
        with self._lock:
            if self._busy or time.monotonic() < self._next_check:
                return
            self._busy = True
            self._next_check = time.monotonic() + self.interval_s
        threading.Thread(target=self._check, name="peruqa-index-watch", daemon=True).start()

    def _check(self) -> None:
        try:
            stamp = self._stamp()
            if stamp is None or stamp == self._seen:
                return
            snapshot = self.service.current
            manifest = read_manifest(self.service.settings.index_dir)
            if snapshot is None or snapshot.data.manifest.build_id != manifest.build_id:
                load_index(self.service)
                log.info("Loaded the new index built at %s", manifest.built_at)
            self._seen = stamp
        except PeruQAError as error:
            # The old index keeps serving; the next check tries again.
            log.warning("New index not loaded: %s", error.message)
        except Exception:  # an unreadable manifest: same, with the trace for maintainers
            log.exception("New index not loaded")
        finally:
            self._busy = False


class Reloader:
    """One background thread per worker: follows the generation file and the manifest."""

    def __init__(self, service: QAService, data_dir: Path, poll_s: float, watch_s: float) -> None:
        self.service = service
        self.path = data_dir / GENERATION_FILE
        self.poll_s = poll_s
        self.watcher = IndexWatcher(service, watch_s)
        self._seen = self._generation()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _generation(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError:
            return None

    def reload_everywhere(self) -> None:
        """Reload here (errors reach the caller), then tell the other workers."""
        load_index(self.service)
        generation = uuid.uuid4().hex
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{GENERATION_FILE}.{os.getpid()}")
        temporary.write_text(generation, encoding="utf-8")
        os.replace(temporary, self.path)  # readers see the old token or the new, never half
        self._seen = generation

    def check(self) -> None:
        generation = self._generation()
        if generation is not None and generation != self._seen:
            self._seen = generation
            try:
                load_index(self.service)
                log.info("Reloaded the index on another worker's request")
            except PeruQAError as error:
                log.warning("Reload asked for, index not loaded: %s", error.message)

    def start(self) -> None:
        """Idempotent: the lifespan starts it, and the first request does if that never ran."""
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="peruqa-reloader", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check()
            self.watcher.poke()

    def stop(self) -> None:
        self._stop.set()
