"""Every error leaves the app as ``{"error": {"code", "message"}}``; domain errors are
translated to HTTP here and nowhere else."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from peruqa.errors import DocumentNotFoundError, InvalidQuestionError, PeruQAError
from peruqa.records.feedback import InvalidFeedbackError
from peruqa.web.admission import OverloadedError, TooManyPendingError
from peruqa.web.schemas import error_body
from peruqa.web.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, public_message

log = logging.getLogger("peruqa.web.handlers")

_STATUS: dict[type[PeruQAError], int] = {
    InvalidQuestionError: 422,
    DocumentNotFoundError: 404,
    InvalidFeedbackError: 422,
    TooManyPendingError: 429,
}


def status_for(error: PeruQAError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(error, kind):
            return status
    # Index problems, overload and timeouts: the service is up but cannot answer now.
    return 503


def error_headers(error: PeruQAError) -> dict[str, str] | None:
    if isinstance(error, OverloadedError):
        return {"Retry-After": str(error.retry_after)}
    return None


def validation_message(exc: RequestValidationError) -> str:
    for problem in exc.errors():
        location = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        kind = problem.get("type", "")
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
        # Domain messages may name folders on the server; clients never see those.
        message = public_message(error.message)
        return JSONResponse(
            error_body(error.code, message),
            status_code=status_for(error),
            headers=error_headers(error),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_request", validation_message(exc)), 422)

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
            error_body("internal_error", "Something went wrong on our side. Please try again."),
            status_code=500,
            headers={
                "content-security-policy": CONTENT_SECURITY_POLICY,
                **{name.decode(): value.decode() for name, value in SECURITY_HEADERS},
            },
        )
