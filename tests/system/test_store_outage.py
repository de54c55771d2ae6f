"""The shared rate-limit store fails loudly and safely: a real redis-server is stopped or
hung under a served app, and the limits still hold, per worker, at the worker's share.

Needs Debian's redis-server (``make test`` installs it); skipped without it.
"""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conftest import free_port
from peruqa.config import Settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app
from peruqa.web.ratelimit import Limiter, make_storage

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None, reason="redis-server is not installed"
    ),
]

TOKEN = "a-long-enough-admin-token"
QUESTION = {"question": "When did the agency open an office in Cusco?"}


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=5)

    def hang(self) -> None:
        # Stopped, it still accepts connections (the kernel does) but never answers.
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    yield server
    server.close()


def _app(settings: Settings, url: str) -> Any:
    # Two workers share the limits; while the store is down each keeps half of them.
    update = {
        "rate_limit_storage": url,
        "workers": 2,
        "rate_limit_burst": 10,
        "rate_limit_per_minute": 10.0,
        "admin_token": TOKEN,
        "admin_failures_per_minute": 6,
        "query_log": False,
    }
    return create_app(settings.model_copy(update=update), FakeEmbedder())


def _statuses(base: str, address: str, count: int, **request: Any) -> list[int]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base, transport=transport, timeout=10) as client:
        return [client.request(**request).status_code for _ in range(count)]


@pytest.mark.parametrize("fault", ["stopped", "hung"])
def test_limits_hold_per_worker_while_the_store_is_down(
    settings: Settings,
    serve_app: Callable[[Any], str],
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    base = serve_app(_app(settings, redis.url))
    assert httpx.get(f"{base}/health").json()["rate_limits"] == "ok"
    redis.stop() if fault == "stopped" else redis.hang()
    with caplog.at_level(logging.INFO, logger="peruqa"):
        started = time.monotonic()
        asked = _statuses(base, "127.0.0.2", 8, method="POST", url="/ask", json=QUESTION)
        elapsed = time.monotonic() - started
        # The burst of 10 is shared by 2 workers: this worker allows 5, then refuses.
        assert asked == [200] * 5 + [429] * 3
        # A hung store is asked once (50 ms), then not until it answers: eight requests
        # cost far less than the 250 ms each they used to wait.
        assert elapsed < 2.0
        wrong = {"Authorization": "Bearer wrong-token-guess"}
        guesses = _statuses(base, "127.0.0.3", 6, method="POST", url="/admin/reload", headers=wrong)
        assert guesses == [403] * 3 + [429] * 3  # admin guessing is limited too
        health = httpx.get(f"{base}/health").json()
        ready = httpx.get(f"{base}/ready").json()
    assert health["rate_limits"] == "degraded" and health["status"] == "degraded"
    assert ready["rate_limits"] == "degraded" and ready["ready"] is True
    # One line for the whole outage, without a traceback.
    lines = [r for r in caplog.records if "store" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].exc_info is None and "unreachable" in lines[0].getMessage()


def test_an_unreachable_store_at_start_is_one_line_and_comes_back(
    settings: Settings, serve_app: Callable[[Any], str], caplog: pytest.LogCaptureFixture
) -> None:
    redis = Redis()  # not started yet
    try:
        with caplog.at_level(logging.INFO, logger="peruqa"):
            base = serve_app(_app(settings, redis.url))
            assert httpx.get(f"{base}/ready").json()["rate_limits"] == "degraded"
            asked = _statuses(base, "127.0.0.2", 6, method="POST", url="/ask", json=QUESTION)
            assert asked == [200] * 5 + [429]
            redis.start()
            deadline = time.monotonic() + 10
            while httpx.get(f"{base}/health").json()["rate_limits"] != "ok":
                assert time.monotonic() < deadline, "the store came back but is not used"
                time.sleep(0.2)
            # Shared again: a fresh address gets the whole burst of 10 from the store.
            asked = _statuses(base, "127.0.0.4", 11, method="POST", url="/ask", json=QUESTION)
            assert asked == [200] * 10 + [429]
        messages = [r.getMessage() for r in caplog.records if "store" in r.getMessage()]
        assert len(messages) == 2 and "again" in messages[1], messages
    finally:
        redis.close()


def test_a_limiter_never_lets_everything_through_when_the_store_is_gone() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = make_storage(f"redis://127.0.0.1:{port}")
    assert store.state == "degraded"
    limiter = Limiter(store, 4, 60, "t", workers=2)
    assert [limiter.hit("a") == 0.0 for _ in range(3)] == [True, True, False]
