"""The server as ``peruqa serve`` runs it: slow clients dropped, proxy headers ignored."""

from __future__ import annotations

import json
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
from peruqa.web.protocol import TimedHttpToolsProtocol
from peruqa.web.server import uvicorn_options


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, int]]:
    """The app under the same uvicorn options as ``peruqa serve``, with short timeouts."""
    quick = settings.model_copy(
        update={"header_timeout_s": 0.5, "body_timeout_s": 0.5, "send_timeout_s": 1.0}
    )
    port = free_port()
    options: dict[str, Any] = {**uvicorn_options(quick), "port": port}
    TimedHttpToolsProtocol.configure(quick)
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
    TimedHttpToolsProtocol.limits = None


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


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header Name: y\r\n\r\n",
        b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Length: nine\r\n\r\n",
    ],
    ids=["request-line", "header-name", "content-length"],
)
def test_requests_the_parser_refuses_get_the_json_error_shape(
    served: tuple[str, int], request_bytes: bytes
) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(request_bytes)
        data, _ = _read_all(sock, limit_s=5)
    head, _, body = data.partition(b"\r\n\r\n")
    assert _status(data) == 400, data[:200]
    assert b"content-type: application/json" in head.lower()
    assert b"x-content-type-options: nosniff" in head.lower()
    assert json.loads(body) == {
        "error": {
            "code": "invalid_request",
            "message": "The request is not valid HTTP/1.1 and cannot be read.",
        }
    }


def _status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0


def test_oversized_headers_get_431_and_are_not_read(served: tuple[str, int]) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17_000 + b"\r\n\r\n")
        data, _ = _read_all(sock, limit_s=5)
    assert _status(data) == 431 and b'"headers_too_large"' in data
    # A client that keeps streaming header bytes is cut off: the server stops reading, so
    # the stream fails long before 100 MB are accepted.
    sent = 0
    with socket.create_connection(served) as sock, pytest.raises(OSError):
        sock.settimeout(5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        line = b"X-More: " + b"b" * 8000 + b"\r\n"
        while sent < 100_000_000:
            sock.sendall(line)
            sent += len(line)
    assert sent < 20_000_000


def test_too_many_header_fields_get_431(served: tuple[str, int]) -> None:
    fields = b"".join(f"X-F{n}: 1\r\n".encode() for n in range(101))
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        data, _ = _read_all(sock, limit_s=5)
    assert _status(data) == 431
    fine = b"".join(f"X-F{n}: 1\r\n".encode() for n in range(90))
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fine + b"\r\n")
        data, _ = _read_all(sock, limit_s=5)
    assert _status(data) == 200


def test_a_client_that_stops_reading_is_dropped(served: tuple[str, int]) -> None:
    # Ten large files asked for at once and never read: the responses fill the socket
    # buffers, the server waits to send, and after send_timeout_s (1 s here) gives up.
    asset = b"/docs-assets/swagger-ui-bundle.js.map"
    request = b"GET " + asset + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with sock:
        sock.connect(served)
        sock.sendall(request * 10)
        time.sleep(3.0)
        received = 0
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):
                received += len(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
    assert received < 5 * 1_540_000, "the server kept sending to a client that stopped reading"


def test_head_is_answered_wherever_get_is(served: tuple[str, int]) -> None:
    for path in (b"/", b"/health", b"/documents/red-cross", b"/static/app.js"):
        with socket.create_connection(served) as sock:
            sock.sendall(b"HEAD " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data, _ = _read_all(sock, limit_s=5)
        assert _status(data) == 200, (path, data[:200])
        assert data.endswith(b"\r\n\r\n"), "no body after the headers"
    with socket.create_connection(served) as sock:
        sock.sendall(b"HEAD /ask HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = _read_all(sock, limit_s=5)
    assert _status(data) == 405  # POST-only routes stay POST-only
