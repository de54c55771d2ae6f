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

HIDDEN = "the server's data folder"
_STOP = "\\s'\"()<>,;"  # what never belongs to an unquoted path in our messages
_SEP = "/\\\\"
# A quoted absolute path (Python's repr of an OSError's file name): everything up to the
# closing quote, spaces included.
_QUOTED_PATH = re.compile(rf"""(['"])((?:[A-Za-z]:)?[{_SEP}](?:(?!\1)[^\n])*)\1""")
# An unquoted absolute path (POSIX or Windows) of two parts or more, not the path part of a
# URL. Folder names may hold spaces ("/tmp/peru qa+1/index"): a path runs on over up to two
# space-separated words when a word after them holds a separator again, so it ends at the
# first word with none after it ("... /index is damaged"), never inside a folder name. A
# sentence's end or a URL stops it. One part alone ("/ask") is a route in prose.
_PATH = re.compile(
    rf"(?<![\w.:/\\'\"])(?:[A-Za-z]:[{_SEP}]|[{_SEP}][^{_STOP}{_SEP}]*[{_SEP}])[^{_STOP}]*"
    rf"(?:(?<![.:!?])(?:[ ][^{_STOP}{_SEP}:]+){{0,2}}[ ][^{_STOP}{_SEP}:]*[{_SEP}][^{_STOP}:]*)*"
)
_TRAILING = ".:!?"  # sentence punctuation after a path stays in the sentence


def _hide(match: re.Match[str]) -> str:
    path = match.group(0)
    return HIDDEN + path[len(path.rstrip(_TRAILING)) :]


def _hide_quoted(match: re.Match[str]) -> str:
    path = match.group(2)
    if path.count("/") + path.count("\\") < 2 and ":" not in path[1:2]:
        return match.group(0)  # a quoted route, not a path
    return match.group(1) + HIDDEN + match.group(1)


def public_message(message: str) -> str:
    """A domain error message with file paths removed, fit to show a client: whole paths,
    spaces and signs included, while file names, routes, URLs and prose stay."""
    return _PATH.sub(_hide, _QUOTED_PATH.sub(_hide_quoted, message))


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
