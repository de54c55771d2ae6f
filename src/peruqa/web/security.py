"""Hardening for the open internet, as pure ASGI middlewares.

- ``SecurityHeadersMiddleware``: CSP without inline script, nosniff, no framing, referrer.
- ``BodySizeLimitMiddleware``: refuses request bodies over a limit with 413.
- ``RateLimitMiddleware``: a token bucket per client IP on the question paths, 429 with
  ``Retry-After``; staff API keys (``X-API-Key``) lift it.

Each middleware answers in the project's one JSON error shape (``schemas.error_body``).
Pure ASGI rather than ``BaseHTTPMiddleware``: no extra task per request on the hot path.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peruqa.web.schemas import error_body

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# FastAPI's /docs page loads Swagger UI from a CDN with an inline bootstrap script; it gets
# a policy that allows exactly that, and nothing else on the site does.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

# Absolute file paths inside messages (POSIX or Windows), but not the path part of URLs.
_PATH = re.compile(r"(?<![\w.:/\\])(?:[A-Za-z]:)?[/\\](?:[\w.\-]+[/\\])*[\w.\-]*\w")


def public_message(message: str) -> str:
    """A domain error message with file paths removed, fit to show a client."""
    return _PATH.sub("the server's data folder", message)


async def send_json_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = (
            DOCS_CONTENT_SECURITY_POLICY if path.startswith("/docs") else CONTENT_SECURITY_POLICY
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    *SECURITY_HEADERS,
                    (b"content-security-policy", policy.encode()),
                ):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes``: at once from Content-Length, else while reading.

    The body is buffered (it is small by definition) so chunked uploads are caught before
    the app sees a byte of them.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json_error(
                        send, 400, "invalid_request", "Invalid Content-Length header."
                    )
                    return
                if declared > self.max_bytes:
                    await self._too_large(send)
                    return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # Client gone before the body arrived; let the app see the disconnect.
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _too_large(self, send: Send) -> None:
        await send_json_error(
            send,
            413,
            "payload_too_large",
            f"The request body is too large; the limit is {self.max_bytes} bytes.",
        )


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets keyed by client; thread-safe so several event loops could share it."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token; returns 0 when allowed, else seconds until a token is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= self.max_clients:
                    self._prune(now)
                bucket = self._buckets[client] = _Bucket(self.burst, now)
            else:
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        # Buckets that have refilled completely carry no state worth keeping.
        full_after = self.burst / self.rate
        stale = [key for key, b in self._buckets.items() if now - b.updated >= full_after]
        for key in stale:
            del self._buckets[key]
        if len(self._buckets) >= self.max_clients:
            # A flood of distinct addresses: forget everyone rather than grow without bound.
            self._buckets.clear()


def key_matches(given: str, keys: Sequence[str]) -> bool:
    """Constant-time comparison against every key, so timing reveals neither key nor index."""
    given_bytes = given.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(given_bytes, key.encode())
    return found


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        per_minute: float,
        burst: int,
        api_keys: Sequence[str] = (),
        # Every path that does work or writes for a visitor shares one budget per client.
        paths: Sequence[str] = ("/", "/ask", "/feedback", "/feedback/form"),
    ) -> None:
        self.app = app
        self.enabled = per_minute > 0
        self.buckets = TokenBuckets(per_minute or 1.0, burst)
        # Empty strings would let an empty header through; never accept them as keys.
        self.api_keys = [key for key in api_keys if key]
        self.paths = frozenset(paths)

    def _has_staff_key(self, scope: Scope) -> bool:
        if not self.api_keys:
            return False
        for name, value in scope.get("headers", []):
            if name == b"x-api-key":
                return key_matches(value.decode("latin-1"), self.api_keys)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.enabled
            or scope.get("path") not in self.paths
            or self._has_staff_key(scope)
        ):
            await self.app(scope, receive, send)
            return
        client: Any = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await send_json_error(
                send,
                429,
                "rate_limited",
                f"Too many questions from your address; please wait {seconds} s and try again.",
                [(b"retry-after", str(seconds).encode())],
            )
            return
        await self.app(scope, receive, send)
