"""Picking up a new index while serving: the admin token check and a cheap manifest watch.

``QAService.load`` swaps in a complete snapshot, so requests already running finish on the
old index and later ones use the new one; nothing here blocks a request.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from peruqa.errors import PeruQAError
from peruqa.index.store import MANIFEST, read_manifest
from peruqa.qa.service import QAService

log = logging.getLogger("peruqa.web.reload")


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
                self.service.load()
                log.info("Loaded the new index built at %s", manifest.built_at)
            self._seen = stamp
        except PeruQAError as error:
            # The old index keeps serving; the next check tries again.
            log.warning("New index not loaded: %s", error.message)
        finally:
            self._busy = False


class IndexWatchMiddleware:
    """Pure ASGI: gives the watcher a chance to check on each HTTP request."""

    def __init__(self, app: ASGIApp, watcher: IndexWatcher) -> None:
        self.app = app
        self.watcher = watcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.watcher.poke()
        await self.app(scope, receive, send)
