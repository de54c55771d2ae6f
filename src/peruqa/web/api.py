"""The JSON API: ``/ask``, ``/feedback``, ``/health``, ``/ready``, ``/metrics`` and the admin
reload. Routes are thin: checks and work live in the service and ``peruqa.web.asking``.

``/health``, ``/ready`` and ``/metrics`` are ``async`` and touch no disk or model, so they
answer from the event loop at once even while every answer thread is busy.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from peruqa.errors import ForbiddenError, IndexMissingError
from peruqa.qa.reply import AskResponse, to_response
from peruqa.web import metrics
from peruqa.web.admin import admin_check
from peruqa.web.asking import ask_question
from peruqa.web.deps import ContextDep, FeedbackDep, ServiceDep
from peruqa.web.ratelimit import address_in, client_of
from peruqa.web.schemas import (
    AskRequest,
    ErrorResponse,
    FeedbackCreated,
    FeedbackRequest,
    HealthResponse,
    ReadyResponse,
)

router = APIRouter()

_ERRORS: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


@router.post("/ask", response_model=AskResponse, responses=_ERRORS)
async def ask(body: AskRequest, request: Request, context: ContextDep) -> AskResponse:
    reply = await ask_question(context, request, body.question, body.top_k, body.turns())
    return to_response(reply)


@router.post("/feedback", status_code=201, response_model=FeedbackCreated, responses=_ERRORS)
def add_feedback(
    body: FeedbackRequest, feedback: FeedbackDep, service: ServiceDep
) -> FeedbackCreated:
    snapshot = service.current
    record = feedback.add(
        body.question,
        body.answer,
        body.helpful,
        body.reason,
        body.language,
        build=snapshot.data.manifest.build_id if snapshot else None,
        doc_id=body.doc_id,
        confidence=body.confidence,
    )
    return FeedbackCreated(id=record.id)


@router.get("/health", response_model=HealthResponse)
async def health(service: ServiceDep, context: ContextDep) -> HealthResponse:
    """Liveness: the process answers. Whether it can answer questions is ``/ready``."""
    limits = context.rate_store.state
    store_down = (
        "The rate limit store does not answer; each worker limits on its own."
        if limits == "degraded"
        else None
    )
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
            rate_limits=limits,
        )
    # The manifest was validated when the index loaded, so its fields can be used as they are.
    manifest = snapshot.data.manifest
    return HealthResponse(
        status="degraded" if store_down else "ok",
        index_loaded=True,
        documents=len(snapshot.data.documents),
        chunks=manifest.chunks,
        model=manifest.model,
        built_at=manifest.built_at,
        message=store_down,
        first_stage_model=(
            snapshot.first_stage.data.manifest.model if snapshot.first_stage else None
        ),
        rate_limits=limits,
    )


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ErrorResponse}})
async def ready(service: ServiceDep, context: ContextDep) -> Response:
    """Readiness for a load balancer: 503 until an index is loaded. A store outage does not
    make a worker unready (it limits on its own), but it is reported."""
    snapshot = service.current
    if snapshot is None:
        # The load's own error (index_corrupt, ...) rather than a guess; ready or not, a
        # load balancer may ask again in a few seconds.
        error = service.load_error or IndexMissingError(
            "No index is loaded yet; build it with 'peruqa index'."
        )
        raise type(error)(error.message, retry_after=5)
    return JSONResponse(
        ReadyResponse(
            ready=True,
            build_id=snapshot.data.manifest.build_id,
            rate_limits=context.rate_store.state,
        ).model_dump()
    )


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request, context: ContextDep) -> Response:
    if not address_in(client_of(request.scope), context.settings.metrics_allow):
        raise ForbiddenError("The metrics are not public; see PERUQA_METRICS_ALLOW.")
    text, content_type = metrics.exposition()
    return Response(text, media_type=content_type)


@router.post(
    "/admin/reload",
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
def admin_reload(request: Request, context: ContextDep) -> JSONResponse:
    """Load the index from disk again on every worker; requests in flight finish on the old one."""
    admin_check(context, request)
    started = time.perf_counter()
    context.reloader.reload_everywhere()  # on failure: 503, and the old index stays
    snapshot = context.service.snapshot
    manifest = snapshot.data.manifest
    metrics.record_index(manifest.built_at, time.perf_counter() - started)
    return JSONResponse(
        {
            "status": "reloaded",
            "documents": len(manifest.documents),
            "chunks": manifest.chunks,
            "built_at": manifest.built_at,
            "build_id": manifest.build_id,
        }
    )
