"""The HTTP protocol each connection speaks: uvicorn's httptools protocol with the limits
it lacks. uvicorn's own settings cover the keep-alive timeout (``server.uvicorn_options``)
but nothing of what a request's headers may take, in time or in size, so this subclass
stays; ``tests/web/test_protocol.py`` fails loudly when a uvicorn upgrade moves the hooks
it relies on (``bench/http_protocols.py`` measures it against uvicorn's h11 protocol).
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from peruqa.config import Settings, get_settings
from peruqa.errors import HeadersTooLargeError, MalformedRequestError, PeruQAError
from peruqa.web.responses import error_content
from peruqa.web.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

# The hooks of uvicorn's protocol this subclass overrides or calls, checked by the tests.
HOOKS = (
    "connection_made",
    "data_received",
    "send_400_response",
    "on_message_begin",
    "on_url",
    "on_header",
    "on_headers_complete",
    "pause_writing",
    "resume_writing",
    "connection_lost",
)


class _HeadersTooLarge(Exception):
    """Raised inside the parser's callbacks to stop it reading a request's headers."""


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with the limits it lacks:

    - a request's headers must arrive within ``header_timeout_s`` (half-sent requests
      cannot be held open);
    - the request line and headers may take ``max_header_bytes`` and ``max_header_fields``
      fields, past which the answer is 431 and the connection closes (uvicorn's httptools
      parser has no limit, and unbounded headers grow a worker without end);
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
