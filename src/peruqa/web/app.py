"""The web app factory: the chat page, the JSON API, ``/docs`` and the middlewares.

Routes live in ``api`` and ``pages`` and get what they need through ``peruqa.web.deps``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from peruqa import __version__
from peruqa.config import Settings, get_settings
from peruqa.errors import PeruQAError
from peruqa.index.embedding import Embedder
from peruqa.qa.service import QAService
from peruqa.records.feedback import FeedbackStore
from peruqa.records.querylog import make_query_log
from peruqa.web import api, metrics, pages
from peruqa.web.admission import Admission
from peruqa.web.deps import WebContext
from peruqa.web.docs import install_docs
from peruqa.web.handlers import install_handlers
from peruqa.web.ratelimit import (
    ClientAddressMiddleware,
    Limiter,
    RateLimitMiddleware,
    SharedStore,
    make_storage,
    visitor_limiter,
)
from peruqa.web.reload import Reloader
from peruqa.web.report_page import router as report_router
from peruqa.web.security import (
    BodySizeLimitMiddleware,
    HeadAsGetMiddleware,
    SecurityHeadersMiddleware,
)
from peruqa.web.turns import TurnSigner
from peruqa.web.watch import reload_service

log = logging.getLogger("peruqa.web.app")


def _loaded_service(
    settings: Settings, embedder: Embedder | None, first_stage_embedder: Embedder | None
) -> QAService:
    # QAService.use_index runs each model once before it serves: no separate warm-up here.
    service = QAService(settings, embedder, first_stage_embedder)
    started = time.perf_counter()
    try:
        reload_service(service)
        metrics.record_index(service.snapshot.data.manifest.built_at, time.perf_counter() - started)
    except PeruQAError as error:
        # Serve anyway: /ready says 503 and /ask answers with a clear 503 and error code.
        log.warning("Index not loaded: %s", error.message)
    return service


def _context(settings: Settings, service: QAService, storage: SharedStore) -> WebContext:
    return WebContext(
        settings=settings,
        service=service,
        feedback=FeedbackStore.in_folder(settings.data_dir),
        query_log=make_query_log(settings),
        admission=Admission(
            settings.answer_threads,
            settings.queue_max,
            settings.queue_per_client,
            settings.request_timeout_s,
            on_depth=metrics.QUEUE_DEPTH.set,
        ),
        templates=Jinja2Templates(directory=str(settings.web_dir / "templates")),
        reloader=Reloader(
            service, settings.data_dir, settings.reload_poll_s, settings.index_watch_s
        ),
        admin_failures=Limiter(
            storage, settings.admin_failures_per_minute, 60, "peruqa-admin", settings.workers
        ),
        rate_store=storage,
        signer=TurnSigner.in_folder(settings.data_dir),
    )


def _middleware(settings: Settings, storage: SharedStore, reloader: Reloader) -> list[Middleware]:
    """In the order a request meets them: HEAD turned into GET, metrics, security headers
    (on every response, 429 and 413 included), CORS (only when origins are configured), the
    client's address, the rate limit, the body limit."""
    limiter = (
        visitor_limiter(
            storage, settings.rate_limit_per_minute, settings.rate_limit_burst, settings.workers
        )
        if settings.rate_limit_per_minute > 0
        else None
    )
    cors = Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "X-API-Key"],
    )
    return [
        Middleware(HeadAsGetMiddleware),
        # Test clients that skip the lifespan still get the reload thread on their first request.
        Middleware(_StartReloader, reloader=reloader),
        Middleware(metrics.MetricsMiddleware),
        Middleware(SecurityHeadersMiddleware),
        *([cors] if settings.cors_origins else []),
        Middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies),
        Middleware(RateLimitMiddleware, limiter=limiter, api_keys=settings.api_keys),
        Middleware(
            BodySizeLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            timeout_s=settings.body_timeout_s,
            page_forms=pages.PAGE_FORMS,
        ),
    ]


def create_app(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    first_stage_embedder: Embedder | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    service = _loaded_service(settings, embedder, first_stage_embedder)
    storage = make_storage(settings.rate_limit_storage)
    context = _context(settings, service, storage)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context.reloader.start()
        yield
        context.reloader.stop()
        context.rate_store.close()
        context.admission.close()
        metrics.worker_exit()

    # No automatic slash redirects: they build an absolute URL from the Host header, which
    # a client controls. "/ask/" is a plain 404 instead.
    app = FastAPI(
        title="PeruQA",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        redirect_slashes=False,
        middleware=_middleware(settings, storage, context.reloader),
    )
    app.state.context = context
    static = settings.web_dir / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=str(static)), name="static")
    install_docs(app)
    install_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(report_router)
    return app


class _StartReloader:
    def __init__(self, app: ASGIApp, reloader: Reloader) -> None:
        self.app = app
        self.reloader = reloader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.reloader.start()
        await self.app(scope, receive, send)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory peruqa.web.app:app_from_env``."""
    return create_app(get_settings())
