"""The server as ``peruqa serve`` runs it: slow clients dropped, proxy headers ignored."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from conftest import free_port
from peruqa.config import Settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app
from peruqa.web.server import TimedHttpToolsProtocol, uvicorn_options


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, int]]:
    """The app under the same uvicorn options as ``peruqa serve``, with short timeouts."""
    quick = settings.model_copy(update={"header_timeout_s": 0.5, "body_timeout_s": 0.5})
    port = free_port()
    options: dict[str, Any] = {**uvicorn_options(quick), "port": port}
    TimedHttpToolsProtocol.header_timeout_s = quick.header_timeout_s
    server = uvicorn.Server(uvicorn.Config(create_app(quick, FakeEmbedder()), **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=5)
    TimedHttpToolsProtocol.header_timeout_s = None


def _read_all(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """What the server sends until it closes the connection, and when it closed it."""
    started = time.monotonic()
    sock.settimeout(limit_s)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except TimeoutError:
        pass
    return data, time.monotonic() - started


def test_half_sent_headers_are_dropped(served: tuple[str, int]) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        data, waited = _read_all(sock, limit_s=5)
    assert data == b"" and waited < 2.0  # closed after ~0.5 s, not held open


def test_silent_connections_are_dropped(served: tuple[str, int]) -> None:
    with socket.create_connection(served) as sock:
        data, waited = _read_all(sock, limit_s=5)
    assert data == b"" and waited < 2.0


def test_half_sent_body_gets_408(served: tuple[str, int]) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(
            b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"question": '
        )
        data, waited = _read_all(sock, limit_s=5)
    assert data.startswith(b"HTTP/1.1 408"), data[:100]
    assert b'"request_timeout"' in data and waited < 2.0


def test_a_normal_request_is_unaffected(served: tuple[str, int]) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = _read_all(sock, limit_s=5)
    assert data.startswith(b"HTTP/1.1 200")


def test_forwarded_headers_from_loopback_are_not_trusted_by_default(
    served: tuple[str, int],
) -> None:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; peruqa serve turns that off,
    # so one loopback client cannot pose as many: the rate limit still sees one address.
    host, port = served
    statuses = []
    for n in range(35):
        with socket.create_connection((host, port)) as sock:
            sock.sendall(
                b"POST /feedback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nContent-Length: 35\r\n"
                + f"X-Forwarded-For: 10.1.1.{n}\r\n\r\n".encode()
                + b'{"question": "q", "helpful": true}\n'
            )
            data, _ = _read_all(sock, limit_s=5)
        statuses.append(int(data.split(b" ", 2)[1]))
    assert statuses.count(201) == 30 and statuses.count(429) == 5
