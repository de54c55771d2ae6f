"""The web app: the chat page, ``POST /ask`` and ``GET /health``. Routes stay thin."""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from peruqa.config import Settings, get_settings
from peruqa.errors import (
    AnswerTimeoutError,
    DocumentNotFoundError,
    InvalidQuestionError,
    PeruQAError,
)
from peruqa.index.embedding import Embedder
from peruqa.qa.answering import Answer
from peruqa.qa.service import QAService
from peruqa.web.feedback import FeedbackStore, InvalidFeedbackError
from peruqa.web.pages import pages_router
from peruqa.web.querylog import make_query_log
from peruqa.web.reload import IndexWatcher, IndexWatchMiddleware, admin_denial
from peruqa.web.schemas import (
    AskRequest,
    AskResponse,
    ErrorResponse,
    FeedbackCreated,
    FeedbackRequest,
    HealthResponse,
    error_body,
    to_response,
)
from peruqa.web.security import (
    CONTENT_SECURITY_POLICY,
    SECURITY_HEADERS,
    BodySizeLimitMiddleware,
    RateLimitMiddleware,
    SecurityHeadersMiddleware,
    public_message,
)

log = logging.getLogger("peruqa.web.app")

_STATUS = {
    InvalidQuestionError: 422,
    DocumentNotFoundError: 404,
    InvalidFeedbackError: 422,
}


def _status_for(error: PeruQAError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(error, kind):
            return status
    # Index problems and the like: the service is up but cannot answer yet.
    return 503


def _validation_message(exc: RequestValidationError) -> str:
    for problem in exc.errors():
        location = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        kind = problem.get("type", "")
        if kind == "json_invalid":
            return "The request body is not valid JSON."
        if kind == "missing":
            return f"The field '{location}' is required." if location else "A field is missing."
        if kind == "extra_forbidden":
            return f"Unknown field '{location}'."
        if location == "question" and kind == "string_too_long":
            return "The question is too long; the limit is 1000 characters."
        if location == "question" and kind == "string_too_short":
            return "Please type a question."
        if location:
            return f"Invalid value for '{location}': {problem.get('msg', 'not accepted')}."
    return (
        'Send a JSON object such as {"question": "...", "top_k": 5} '
        "with Content-Type: application/json."
    )


def create_app(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    first_stage_embedder: Embedder | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    service = QAService(settings, embedder, first_stage_embedder)
    try:
        service.load()
    except PeruQAError as error:
        # Serve anyway: /health reports the problem and /ask answers with a clear 503.
        log.warning("Index not loaded: %s", error.message)

    app = FastAPI(title="PeruQA", version="0.1.0", docs_url="/docs", redoc_url=None)
    app.state.service = service
    app.state.settings = settings
    templates = Jinja2Templates(directory=str(settings.web_dir / "templates"))
    static = settings.web_dir / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=str(static)), name="static")

    # Outermost last: headers on every response (429 and 413 included), then CORS (only
    # when origins are configured), then the rate limit, then the body size limit.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        per_minute=settings.rate_limit_per_minute,
        burst=settings.rate_limit_burst,
        api_keys=settings.api_keys,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
        )
    app.add_middleware(SecurityHeadersMiddleware)
    # A new build is picked up within index_watch_s seconds, off the request path.
    app.add_middleware(IndexWatchMiddleware, watcher=IndexWatcher(service, settings.index_watch_s))
    query_log = make_query_log(settings)
    app.state.query_log = query_log

    def _log_query(request: Request, answer: Answer, started: float) -> None:
        if query_log is not None:
            client = request.client.host if request.client else None
            query_log.record(answer, (time.perf_counter() - started) * 1000, client)

    @app.exception_handler(PeruQAError)
    async def domain_error(request: Request, error: PeruQAError) -> JSONResponse:
        # Domain messages may name folders on the server; clients never see those.
        message = public_message(error.message)
        return JSONResponse(error_body(error.code, message), status_code=_status_for(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("invalid_request", _validation_message(exc)), status_code=422
        )

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

    errors = {422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}

    @app.post("/ask", response_model=AskResponse, responses=errors)  # type: ignore[arg-type]
    async def ask(request: AskRequest, http_request: Request) -> AskResponse:
        started = time.perf_counter()
        try:
            # The work runs in a thread; past the limit the client gets a clear 503 rather
            # than a hung connection (the thread finishes and fills the cache).
            answer = await asyncio.wait_for(
                run_in_threadpool(service.ask, request.question, request.top_k),
                timeout=settings.request_timeout_s,
            )
        except TimeoutError as exc:
            raise AnswerTimeoutError(
                "Answering took too long. Please try again in a moment."
            ) from exc
        _log_query(http_request, answer, started)
        return to_response(answer)

    @app.post(
        "/admin/reload", responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}}
    )
    def admin_reload(request: Request) -> JSONResponse:
        """Load the index from disk again; requests in flight finish on the old one."""
        denial = admin_denial(settings.admin_token, request.headers.get("authorization"))
        if denial is not None:
            headers = {"WWW-Authenticate": "Bearer"} if denial.status == 401 else None
            body = error_body(denial.code, denial.message)
            return JSONResponse(body, status_code=denial.status, headers=headers)
        service.load()  # on failure: 503 through domain_error, and the old index stays
        manifest = service.snapshot.data.manifest
        return JSONResponse(
            {
                "status": "reloaded",
                "documents": len(manifest.documents),
                "chunks": manifest.chunks,
                "built_at": manifest.built_at,
            }
        )

    @app.get("/health", response_model=HealthResponse)
    def health() -> HealthResponse:
        snapshot = service.current
        if snapshot is None:
            return HealthResponse(
                status="degraded",
                index_loaded=False,
                documents=0,
                chunks=0,
                model=service.embedder.name,
                built_at=None,
                message="The index is not loaded. Build it with 'peruqa index'.",
            )
        manifest = snapshot.data.manifest
        return HealthResponse(
            status="ok",
            index_loaded=True,
            documents=len(snapshot.data.documents),
            chunks=manifest.chunks,
            model=manifest.model,
            built_at=manifest.built_at,
            first_stage_model=(
                snapshot.first_stage.data.manifest.model if snapshot.first_stage else None
            ),
        )

    app.state.feedback = feedback = FeedbackStore.in_folder(settings.data_dir)

    @app.post("/feedback", status_code=201, response_model=FeedbackCreated, responses=errors)  # type: ignore[arg-type]
    def add_feedback(request: FeedbackRequest) -> FeedbackCreated:
        record = feedback.add(
            request.question, request.answer, request.helpful, request.reason, request.language
        )
        return FeedbackCreated(id=record.id)

    # The chat page, the document view and the no-JavaScript forms (see peruqa.web.pages).
    app.include_router(pages_router(templates, service, _log_query))

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory peruqa.web.app:app_from_env``."""
    return create_app(get_settings())
