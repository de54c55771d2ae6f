"""Running the app under uvicorn, with one or several worker processes.

- The listening socket is bound here, before any worker starts, so a port in use is one
  clear error, and it is declared TCP so that accepted connections get TCP_NODELAY
  (uvicorn's own ``bind_socket`` leaves ``proto`` at 0 and every response then waits
  ~40 ms for a delayed ACK).
- uvicorn's proxy-header handling is off: ``X-Forwarded-For`` is read by
  ``ClientAddressMiddleware`` and only from ``PERUQA_TRUSTED_PROXIES``.
- A connection must deliver its request headers within ``header_timeout_s``, so half-sent
  requests cannot be held open forever (the body has its own timeout in
  ``BodySizeLimitMiddleware``).
- With several workers, prometheus-client keeps its values in a shared folder.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from peruqa.config import Settings, get_settings
from peruqa.errors import ConfigError
from peruqa.web.metrics import MULTIPROC_ENV

log = logging.getLogger("peruqa.web.server")


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, closing connections whose headers arrive too slowly.

    Worker processes receive this class by name (it must pickle), so the timeout is read
    from the settings once per process rather than baked into a generated subclass.
    """

    header_timeout_s: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    @classmethod
    def _timeout(cls) -> float:
        if cls.header_timeout_s is None:
            cls.header_timeout_s = get_settings().header_timeout_s
        return cls.header_timeout_s

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._timeout(), self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the next request on a kept-alive connection gets its own deadline

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def tcp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "the port is already in use" if exc.errno == 98 else exc.strerror or str(exc)
        raise ConfigError(f"Cannot listen on {host}:{port}: {reason}.") from exc
    sock.set_inheritable(True)
    return sock


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "proxy_headers": False,
        "http": TimedHttpToolsProtocol,
        "timeout_keep_alive": 5,
    }


def serve(settings: Settings, workers: int) -> None:
    sock = tcp_socket(settings.host, settings.port)
    TimedHttpToolsProtocol.header_timeout_s = settings.header_timeout_s
    if workers == 1:
        from peruqa.web.app import create_app

        config = uvicorn.Config(create_app(settings), **uvicorn_options(settings))
        uvicorn.Server(config).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    # Each worker builds its app from the environment; metrics go through a shared folder
    # that must be empty at start (prometheus-client's multiprocess mode).
    metrics_dir = tempfile.mkdtemp(prefix="peruqa-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    os.environ["PERUQA_INDEX_DIR"] = str(settings.index_dir)
    if settings.rate_limit_storage.startswith("memory"):
        log.warning(
            "Rate limits are counted per worker; set PERUQA_RATE_LIMIT_STORAGE=redis://... "
            "to share them (make run does when redis-server is installed)."
        )
    try:
        config = uvicorn.Config(
            "peruqa.web.app:app_from_env",
            factory=True,
            workers=workers,
            **uvicorn_options(settings),
        )
        Multiprocess(config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
