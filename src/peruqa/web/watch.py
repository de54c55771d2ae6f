"""Watching index/manifest.json: a new build on disk is loaded without a restart.

``QAService.load`` swaps in a complete snapshot, so requests already running finish on the
old index and later ones use the new one; nothing here blocks a request.
"""

from __future__ import annotations

import logging
import time

from peruqa.errors import IndexCorruptError, PeruQAError
from peruqa.index.store import MANIFEST, read_manifest
from peruqa.qa.service import QAService

log = logging.getLogger("peruqa.web.watch")


def reload_service(service: QAService) -> None:
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


class IndexWatcher:
    """Reloads the service when index/manifest.json changes. ``tick`` runs on the reloader's
    thread, never on a request, and looks at the file at most every ``interval_s``."""

    def __init__(self, service: QAService, interval_s: float) -> None:
        self.service = service
        self.interval_s = interval_s
        self._next_check = time.monotonic() + interval_s
        self._seen: tuple[int, int] | None = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = (self.service.settings.index_dir / MANIFEST).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_ino

    def tick(self) -> None:
        if self.interval_s <= 0 or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + self.interval_s
        self.check()

    def check(self) -> None:
        try:
            stamp = self._stamp()
            if stamp is None or stamp == self._seen:
                return
            snapshot = self.service.current
            manifest = read_manifest(self.service.settings.index_dir)
            if snapshot is None or snapshot.data.manifest.build_id != manifest.build_id:
                reload_service(self.service)
                log.info("Loaded the new index built at %s", manifest.built_at)
            self._seen = stamp
        except PeruQAError as error:
            # The old index keeps serving; the next check tries again.
            log.warning("New index not loaded: %s", error.message)
        except Exception:  # an unreadable manifest: same, with the trace for maintainers
            log.exception("New index not loaded")
