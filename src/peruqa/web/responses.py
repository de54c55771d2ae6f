"""How a ``PeruQAError`` becomes an HTTP response, in one place for the routes' exception
handlers and for the pure ASGI middlewares that answer before any route (rate limit, body
size): the body is ``{"error": {"code", "message"}}``, the status and ``Retry-After`` are
the ones the error's class declares (``peruqa.errors``).
"""

from __future__ import annotations

import json
import logging
import re

from fastapi.responses import JSONResponse
from starlette.types import Send

from peruqa.errors import PeruQAError, RequestTimeoutError, UnauthorizedError
from peruqa.web.schemas import error_body

log = logging.getLogger("peruqa.web.responses")

UNEXPECTED = "Something went wrong on our side. Please try again."

# Absolute file paths inside messages (POSIX or Windows), but not the path part of URLs.
_PATH = re.compile(r"(?<![\w.:/\\])(?:[A-Za-z]:)?[/\\](?:[\w.\-]+[/\\])*[\w.\-]*\w")


def public_message(message: str) -> str:
    """A domain error message with file paths removed, fit to show a client."""
    return _PATH.sub("the server's data folder", message)


def error_headers(error: PeruQAError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RequestTimeoutError):
        # The rest of a slow body may still trickle in: end the connection as well.
        headers["Connection"] = "close"
    return headers


def error_content(error: PeruQAError) -> dict[str, object]:
    if type(error).status == PeruQAError.status:
        # A bare PeruQAError was never meant for a client: logged like any other bug.
        log.error("Undeclared error reached a client: %s", error.message)
        return error_body("internal_error", UNEXPECTED)
    # Domain messages may name folders on the server; clients never see those.
    return error_body(error.code, public_message(error.message))


def error_response(error: PeruQAError) -> JSONResponse:
    return JSONResponse(error_content(error), error.status, headers=error_headers(error))


async def send_error(send: Send, error: PeruQAError) -> None:
    """``error_response`` for a pure ASGI middleware."""
    body = json.dumps(error_content(error)).encode()
    headers = [
        (name.lower().encode(), value.encode()) for name, value in error_headers(error).items()
    ]
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
