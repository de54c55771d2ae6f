"""Carrying ``POST /admin/reload`` to every worker: a reload generation file, followed by one
thread per worker (which also runs the manifest watch of ``peruqa.web.watch``).

``QAService.load`` swaps in a complete snapshot, so requests already running finish on the
old index and later ones use the new one; nothing here blocks a request.

The admin call lands on one worker only. That worker reloads and writes a new generation
(a random token) to ``data_dir/reload-generation``; every worker's ``Reloader`` thread reads
that small file every ``reload_poll_s`` (0.25 s) and reloads when it changed, so all of
them, and replicas sharing the data folder, move within about a second.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from pathlib import Path

from peruqa.errors import PeruQAError
from peruqa.qa.service import QAService
from peruqa.web.watch import IndexWatcher, reload_service

log = logging.getLogger("peruqa.web.reload")

GENERATION_FILE = "reload-generation"


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
        reload_service(self.service)
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
                reload_service(self.service)
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
            self.watcher.tick()

    def stop(self) -> None:
        self._stop.set()
