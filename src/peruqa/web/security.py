"""Hardening for the open internet, as pure ASGI middlewares.

- ``SecurityHeadersMiddleware``: CSP without inline script, nosniff, no framing, referrer.
- ``BodySizeLimitMiddleware``: refuses request bodies over a limit with 413.
- ``HeadAsGetMiddleware``: ``HEAD`` wherever ``GET`` is answered.
- ``key_matches``: constant-time key comparison (the rate limit lives in ``ratelimit``).

Each middleware answers in the project's one JSON error shape (``responses.send_error``).
Pure ASGI rather than ``BaseHTTPMiddleware``: no extra task per request on the hot path.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peruqa.errors import BadHeaderError, PayloadTooLargeError, RequestTimeoutError
from peruqa.web.responses import send_error

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# The /docs page serves Swagger UI from this server (peruqa.web.docs) and starts it with
# FastAPI's small inline script; it alone gets 'unsafe-inline', and nothing off-site.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


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


# Set in the scope of a page form post that was too large: the route gets the fields that
# arrived whole within the limit and answers with its own page (peruqa.web.pages).
OVERSIZED_FORM = "peruqa.oversized_form"
_FORM_TYPE = b"application/x-www-form-urlencoded"


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes``: at once from Content-Length, else while reading.

    The body is buffered (it is small by definition) so chunked uploads are caught before
    the app sees a byte of them. A form posted to one of ``page_forms`` is not refused in
    JSON: a visitor's browser would show it raw. Its first ``max_bytes`` are read, cut to
    the fields that arrived whole, and passed on marked ``OVERSIZED_FORM``; the rest is
    never read, and the connection closes after the answer.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, timeout_s: float, page_forms: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # A client that stops sending half-way through its body is dropped after this.
        self.timeout_s = timeout_s
        self.page_forms = frozenset(page_forms)

    def _page_form(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        return (
            scope.get("method") == "POST"
            and scope.get("path") in self.page_forms
            and content_type == _FORM_TYPE
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, BadHeaderError("Invalid Content-Length header."))
                    return
                if declared > self.max_bytes and not self._page_form(scope):
                    await self._too_large(send)
                    return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), deadline - loop.time())
            except TimeoutError:
                await send_error(send, RequestTimeoutError("The request body arrived too slowly."))
                return
            if message["type"] != "http.request":
                # Client gone before the body arrived; let the app see the disconnect.
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                if self._page_form(scope):
                    head = (b"".join(chunks) + chunk)[: self.max_bytes]
                    await self._oversized_form(scope, head, receive, send)
                    return
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _oversized_form(
        self, scope: Scope, head: bytes, receive: Receive, send: Send
    ) -> None:
        # Only the fields that arrived whole: a field cut in two is dropped, never misread.
        whole = head[: head.rfind(b"&") + 1].rstrip(b"&")
        body = {"type": "http.request", "body": whole, "more_body": False}

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The rest of the body is never read: the connection cannot carry another.
                message = {**message, "headers": [*message["headers"], (b"connection", b"close")]}
            await send(message)

        await self.app({**scope, OVERSIZED_FORM: True}, _replay([body], receive), closing)

    async def _too_large(self, send: Send) -> None:
        await send_error(
            send,
            PayloadTooLargeError(
                f"The request body is too large; the limit is {self.max_bytes} bytes."
            ),
        )


class HeadAsGetMiddleware:
    """``HEAD`` answered wherever ``GET`` is: the GET response's status and headers, no body.

    FastAPI routes declare GET alone, so monitors and link checkers that send HEAD got 405.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def foreign_origin(
    origin: str | None, referer: str | None, host: str | None, allowed: Sequence[str]
) -> bool:
    """Whether a form post comes from a page on another site.

    The browser's ``Origin`` (else the ``Referer``) must name this host, or one of the
    origins allowed for CORS. A post with neither header (a script, a browser told to send
    no referrer) is let through: the signed turns still keep it from speaking for us.
    Only the host and port are compared, so a proxy that ends TLS changes nothing.
    """
    source = origin if origin and origin != "null" else referer
    if origin == "null" and not referer:
        return True  # sandboxed frames and data: pages send "null"
    if not source:
        return False
    if source.rstrip("/") in {entry.rstrip("/") for entry in allowed}:
        return False
    parts = urlsplit(source)
    return not host or parts.netloc.lower() != host.lower()


def staff_key(scope: Scope, keys: Sequence[str]) -> int | None:
    """Which staff key (its place in PERUQA_API_KEYS) the request's X-API-Key is, if any."""
    if not keys:
        return None
    for name, value in scope.get("headers", []):
        if name == b"x-api-key":
            return key_index(value.decode("latin-1"), keys)
    return None


def key_index(given: str, keys: Sequence[str]) -> int | None:
    """The place of ``given`` among ``keys`` (empty keys never match), comparing against
    every key in constant time, so timing reveals neither key nor index."""
    given_bytes = given.encode()
    found = None
    for number, key in enumerate(keys):
        if hmac.compare_digest(given_bytes, key.encode()) and key:
            found = number
    return found


def key_matches(given: str, keys: Sequence[str]) -> bool:
    return key_index(given, keys) is not None
