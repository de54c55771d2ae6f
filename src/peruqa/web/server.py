"""Running the app under uvicorn, with one or several worker processes.

- The listening socket is bound here, before any worker starts, so a port in use is one
  clear error, and it is declared TCP so that accepted connections get TCP_NODELAY
  (uvicorn's own ``bind_socket`` leaves ``proto`` at 0 and every response then waits
  ~40 ms for a delayed ACK).
- uvicorn's proxy-header handling is off: ``X-Forwarded-For`` is read by
  ``ClientAddressMiddleware`` and only from ``PERUQA_TRUSTED_PROXIES``.
- Each connection speaks HTTP through ``protocol.TimedHttpToolsProtocol``: limits on the
  headers' time and size that uvicorn lacks (the body has its own timeout in
  ``BodySizeLimitMiddleware``).
- With several workers, prometheus-client keeps its values in a shared folder, and each
  worker dies with the supervisor that started it (``die_with_supervisor``).
"""

from __future__ import annotations

import ctypes
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
from typing import Any

import uvicorn
from fastapi import FastAPI

from peruqa.config import Settings
from peruqa.errors import ConfigError
from peruqa.web.metrics import MULTIPROC_ENV
from peruqa.web.protocol import TimedHttpToolsProtocol

log = logging.getLogger("peruqa.web.server")

# The supervisor's process id, as its workers must see it as their parent.
SUPERVISOR_ENV = "PERUQA_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


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
