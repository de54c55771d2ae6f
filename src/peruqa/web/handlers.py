"""The app's exception handlers: every error leaves as ``{"error": {"code", "message"}}``
with the status its class declares (see ``peruqa.web.responses``); anything else is a
logged 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from peruqa.config import HISTORY_ANSWER_MAX_CHARS
from peruqa.errors import InvalidQuestionError, InvalidRequestError, PeruQAError
from peruqa.qa.checks import too_many_turns, turn_refused, turn_too_long
from peruqa.web.responses import UNEXPECTED, error_response
from peruqa.web.schemas import BodyExample, error_body
from peruqa.web.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

log = logging.getLogger("peruqa.web.handlers")


def _history_error(loc: list[object], kind: str, problem: dict[str, Any]) -> InvalidQuestionError:
    """Problems with ``history`` name the turn (counted from 1, oldest first), in the words
    the service uses for the same problems (``qa.checks``)."""
    if len(loc) == 1:
        if kind == "too_long":
            return too_many_turns(int(problem.get("ctx", {}).get("actual_length", 0)))
        return InvalidQuestionError("history must be a list of earlier turns, oldest first.")
    number = int(str(loc[1])) + 1
    if len(loc) == 2:
        return InvalidQuestionError(
            f"history turn {number} must be an object with a 'question' and an optional 'answer'."
        )
    field = str(loc[2])
    if kind == "missing":
        return turn_refused(number, f"the field '{field}' is required.")
    if kind == "extra_forbidden":
        return turn_refused(number, f"unknown field '{field}'.")
    if kind == "string_too_long":
        return turn_too_long(number, field, None, HISTORY_ANSWER_MAX_CHARS)
    reason = problem.get("msg", "not accepted")
    return turn_refused(number, f"invalid value for '{field}': {reason}.")


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


def validation_error(exc: RequestValidationError, example: str | None = None) -> PeruQAError:
    """The project's error for a body that does not validate: a refused question when the
    problem is in ``history``, else an invalid request."""
    problems = exc.errors()
    if problems:
        first = problems[0]
        loc = [part for part in first.get("loc", ()) if part != "body"]
        kind = first.get("type", "")
        if loc and loc[0] == "history" and kind != "json_invalid":
            return _history_error(loc, kind, first)
    return InvalidRequestError(validation_message(exc, example))


def validation_message(exc: RequestValidationError, example: str | None = None) -> str:
    for problem in exc.errors():
        loc = [part for part in problem.get("loc", ()) if part != "body"]
        location = ".".join(str(part) for part in loc)
        kind = problem.get("type", "")
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
        return error_response(validation_error(exc, _example(request)))

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
