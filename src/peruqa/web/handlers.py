"""The app's exception handlers: every error leaves as ``{"error": {"code", "message"}}``
with the status its class declares (see ``peruqa.web.responses``); anything else is a
logged 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from peruqa.config import HISTORY_ANSWER_MAX_CHARS, HISTORY_MAX_TURNS
from peruqa.errors import InvalidRequestError, PeruQAError
from peruqa.web.responses import UNEXPECTED, error_response
from peruqa.web.schemas import error_body
from peruqa.web.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

log = logging.getLogger("peruqa.web.handlers")


def _history_message(loc: list[object], kind: str, problem: dict[str, object]) -> str:
    """Problems with ``history`` name the turn (counted from 1, oldest first)."""
    if len(loc) == 1:
        if kind == "too_long":
            return f"history holds too many turns; at most {HISTORY_MAX_TURNS} are read."
        return "history must be a list of earlier turns, oldest first."
    turn = f"history turn {int(str(loc[1])) + 1}"
    if len(loc) == 2:
        return f"{turn} must be an object with a 'question' and an optional 'answer'."
    field = str(loc[2])
    if kind == "missing":
        return f"{turn}: the field '{field}' is required."
    if kind == "extra_forbidden":
        return f"{turn}: unknown field '{field}'."
    if kind == "string_too_short":
        return f"{turn}: the {field} is empty."
    if kind == "string_too_long":
        return (
            f"{turn}: the {field} is too long; the limit is {HISTORY_ANSWER_MAX_CHARS} characters."
        )
    return f"{turn}: invalid value for '{field}': {problem.get('msg', 'not accepted')}."


def validation_message(exc: RequestValidationError) -> str:
    for problem in exc.errors():
        loc = [part for part in problem.get("loc", ()) if part != "body"]
        location = ".".join(str(part) for part in loc)
        kind = problem.get("type", "")
        if loc and loc[0] == "history" and kind != "json_invalid":
            return _history_message(loc, kind, problem)
        if kind == "json_invalid":
            return "The request body is not valid JSON."
        if kind == "missing":
            return f"The field '{location}' is required." if location else "A field is missing."
        if kind == "extra_forbidden":
            return f"Unknown field '{location}'."
        if location == "question" and kind == "string_too_short":
            return "Please type a question."
        if location:
            return f"Invalid value for '{location}': {problem.get('msg', 'not accepted')}."
    return (
        'Send a JSON object such as {"question": "...", "top_k": 5} '
        "with Content-Type: application/json."
    )


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(PeruQAError)
    async def domain_error(request: Request, error: PeruQAError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(InvalidRequestError(validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the trace for maintainers; the client only learns that something went wrong.
        log.exception("Unexpected error on %s", request.url.path)
        # Starlette sends this response from outside the middleware stack, so the security
        # headers are added here.
        return JSONResponse(
            error_body("internal_error", UNEXPECTED),
            status_code=500,
            headers={
                "content-security-policy": CONTENT_SECURITY_POLICY,
                **{name.decode(): value.decode() for name, value in SECURITY_HEADERS},
            },
        )
