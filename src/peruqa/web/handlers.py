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
from peruqa.web.schemas import BodyExample, error_body
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
    if kind == "string_too_long":
        return (
            f"{turn}: the {field} is too long; the limit is {HISTORY_ANSWER_MAX_CHARS} characters."
        )
    return f"{turn}: invalid value for '{field}': {problem.get('msg', 'not accepted')}."


def unreadable_body_message(cause: BaseException | None) -> str:
    """Why a JSON body could not be parsed at all (FastAPI's bare 400 hides the reason)."""
    if isinstance(cause, UnicodeDecodeError):
        return "The request body is not valid JSON: it must be UTF-8 text."
    if isinstance(cause, RecursionError):
        return "The request body cannot be read: its JSON is nested too deeply."
    if isinstance(cause, ValueError):
        # Python refuses integers of more than 4,300 digits.
        return "The request body cannot be read: a number in its JSON is too long."
    return "The request body could not be read."


def validation_message(exc: RequestValidationError, example: str | None = None) -> str:
    for problem in exc.errors():
        loc = [part for part in problem.get("loc", ()) if part != "body"]
        location = ".".join(str(part) for part in loc)
        kind = problem.get("type", "")
        if loc and loc[0] == "history" and kind != "json_invalid":
            return _history_message(loc, kind, problem)
        if kind == "json_invalid":
            return "The request body is not valid JSON."
        if kind == "missing":
            if location:
                return f"The field '{location}' is required."
            break  # no body at all: the example says what to send
        if kind == "extra_forbidden":
            return f"Unknown field '{location}'."
        if location:
            return f"Invalid value for '{location}': {problem.get('msg', 'not accepted')}."
    # The route's own fields, so /feedback never quotes /ask's.
    return f"Send a JSON object such as {example or '{...}'} with Content-Type: application/json."


def _example(request: Request) -> str | None:
    """The JSON example of the route's body model (``BodyExample``), if it has one."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(body_field, "field_info", None), "annotation", None)
    return model.EXAMPLE if isinstance(model, type) and issubclass(model, BodyExample) else None


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(PeruQAError)
    async def domain_error(request: Request, error: PeruQAError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(InvalidRequestError(validation_message(exc, _example(request))))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's "There was an error parsing the body" (bad UTF-8, deep nesting, huge
            # numbers): the same invalid request as any other JSON that does not parse.
            return error_response(InvalidRequestError(unreadable_body_message(exc.__cause__)))
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
