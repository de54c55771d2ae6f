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
- With several workers, prometheus-client keeps its values in a shared folder, and each
  worker dies with the supervisor that started it (``die_with_supervisor``).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from peruqa.config import Settings, get_settings
from peruqa.errors import ConfigError, HeadersTooLargeError, MalformedRequestError, PeruQAError
from peruqa.web.metrics import MULTIPROC_ENV
from peruqa.web.responses import error_content
from peruqa.web.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

log = logging.getLogger("peruqa.web.server")

# The supervisor's process id, as its workers must see it as their parent.
SUPERVISOR_ENV = "PERUQA_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class _HeadersTooLarge(Exception):
    """Raised inside the parser's callbacks to stop it reading a request's headers."""


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with the limits it lacks:

    - a request's headers must arrive within ``header_timeout_s`` (half-sent requests
      cannot be held open);
    - the request line and headers may take ``max_header_bytes`` and ``max_header_fields``
      fields, past which the answer is 431 and the connection closes (uvicorn's httptools
      parser has no limit: 100 MB of headers grew a worker by 185 MB);
    - a client that stops reading a response is dropped after ``send_timeout_s`` instead
      of holding the response and its task forever.

    Worker processes receive this class by name (it must pickle), so the limits are read
    from the settings once per process rather than baked into a generated subclass.
    """

    limits: tuple[float, int, int, float] | None = None

    @classmethod
    def configure(cls, settings: Settings) -> None:
        cls.limits = (
            settings.header_timeout_s,
            settings.max_header_bytes,
            settings.max_header_fields,
            settings.send_timeout_s,
        )

    @classmethod
    def _limits(cls) -> tuple[float, int, int, float]:
        if cls.limits is None:
            cls.configure(get_settings())
        assert cls.limits is not None
        return cls.limits

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._refused = False
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._limits()[0], self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the 431 is on its way; the rest of those headers is not read
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if self._refused:
            return  # the parser stopped because of our own limit: the 431 is already sent
        # uvicorn's own answer is plain text; every error of ours has the JSON shape.
        self._send_error(
            MalformedRequestError("The request is not valid HTTP/1.1 and cannot be read.")
        )

    def _count(self, size: int, field: bool) -> None:
        _timeout, max_bytes, max_fields, _send = self._limits()
        self._header_bytes += size
        if self._header_bytes > max_bytes or len(self.headers) + field > max_fields:
            self._refuse()

    def _refuse(self) -> None:
        self._refused = True
        self._disarm()
        self._send_error(
            HeadersTooLargeError(
                "The request headers are too large or too many; "
                f"the limits are {self._limits()[1]} bytes and {self._limits()[2]} fields."
            )
        )
        raise _HeadersTooLarge

    def _send_error(self, error: PeruQAError) -> None:
        """Answer from the protocol, before any app (and its middlewares) sees the request,
        in the app's error shape and with its security headers; then close."""
        body = json.dumps(error_content(error)).encode()
        headers = [
            f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}",
            "content-type: application/json",
            f"content-length: {len(body)}",
            f"content-security-policy: {CONTENT_SECURITY_POLICY}",
            *(f"{name.decode()}: {value.decode()}" for name, value in SECURITY_HEADERS),
            "connection: close",
        ]
        self.transport.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body)
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm()  # the next request on a kept-alive connection gets its own deadline

    def on_url(self, url: bytes) -> None:
        self._count(len(url), field=False)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, field=True)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self._limits()[3], self._not_reading)

    def resume_writing(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        super().resume_writing()

    def _not_reading(self) -> None:
        # The client has not read our response for send_timeout_s: let it go.
        self._send_timer = None
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
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


def die_with_supervisor() -> None:
    """Make this worker stop (SIGTERM: requests in flight finish) when its supervisor dies.

    A supervisor killed outright (SIGKILL, the OOM killer) runs no clean-up: without this,
    its workers live on under PID 1 and keep the port. On Linux the kernel sends the signal
    (PR_SET_PDEATHSIG); elsewhere a thread watches the parent.
    """
    expected = os.environ.get(SUPERVISOR_ENV)
    if expected is None:
        return
    if not (sys.platform.startswith("linux") and _set_parent_death_signal()):
        threading.Thread(target=_watch_parent, args=(int(expected),), daemon=True).start()
    # The supervisor may have died before the signal was asked for: then no signal comes,
    # but this process already has another parent.
    if os.getppid() != int(expected):
        raise SystemExit("The server that started this worker has stopped.")


def _set_parent_death_signal() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
        return True
    log.warning(
        "prctl(PR_SET_PDEATHSIG) failed (errno %d); watching the parent.", ctypes.get_errno()
    )
    return False


def _watch_parent(expected: int) -> None:  # pragma: no cover - Linux uses the kernel's signal
    while os.getppid() == expected:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def worker_app() -> FastAPI:
    """Factory for each worker of ``serve --workers N``: tied to its supervisor first (the
    app's models take seconds to load), then built from the environment."""
    die_with_supervisor()
    from peruqa.web.app import app_from_env

    return app_from_env()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "proxy_headers": False,
        "http": TimedHttpToolsProtocol,
        "timeout_keep_alive": 5,
    }


def serve(settings: Settings, workers: int, announce: Callable[[str], None]) -> None:
    """Serve until stopped; ``announce`` gets the address once the socket is bound and the
    app is built, so an error on start is never preceded by a banner that says it works."""
    sock = tcp_socket(settings.host, settings.port)
    TimedHttpToolsProtocol.configure(settings)
    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    if workers == 1:
        from peruqa.web.app import create_app

        try:
            app = create_app(settings)
        except BaseException:
            sock.close()
            raise
        announce(url)
        config = uvicorn.Config(app, **uvicorn_options(settings))
        uvicorn.Server(config).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    # Each worker builds its app from the environment; metrics go through a shared folder
    # that must be empty at start (prometheus-client's multiprocess mode).
    metrics_dir = tempfile.mkdtemp(prefix="peruqa-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    os.environ["PERUQA_INDEX_DIR"] = str(settings.index_dir)
    # Each worker's share of the limits while the shared store is down depends on it.
    os.environ["PERUQA_WORKERS"] = str(workers)
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    if settings.rate_limit_storage.startswith("memory"):
        log.warning(
            "Rate limits are counted per worker; set PERUQA_RATE_LIMIT_STORAGE=redis://... "
            "to share them (make run does when redis-server is installed)."
        )
    announce(url)
    try:
        config = uvicorn.Config(
            "peruqa.web.server:worker_app",
            factory=True,
            workers=workers,
            **uvicorn_options(settings),
        )
        Multiprocess(config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
