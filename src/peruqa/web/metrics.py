"""Prometheus metrics, correct with several worker processes.

``peruqa serve --workers N`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before
any worker starts; prometheus-client then keeps each worker's values in files there and
``/metrics`` adds them up. With one process the ordinary in-memory registry is used.
Metrics are module globals: a process has one registry, however many apps it builds.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "peruqa_requests_total", "HTTP requests by route and status.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "peruqa_request_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
ANSWERS = Counter("peruqa_answers_total", "Questions answered or declined.", ["outcome", "stage"])
REFUSED = Counter(
    "peruqa_refused_total",
    "Questions refused before the model (busy, too many pending).",
    ["reason"],
)
QUEUE_DEPTH = Gauge(
    "peruqa_queue_depth", "Questions waiting or running.", multiprocess_mode="livesum"
)
INDEX_BUILT = Gauge(
    "peruqa_index_built_timestamp_seconds",
    "When the index being served was built (Unix time).",
    multiprocess_mode="max",
)
INDEX_LOAD = Gauge(
    "peruqa_index_load_seconds",
    "How long loading the index being served took.",
    multiprocess_mode="max",
)


def record_answer(abstained: bool, stage: str) -> None:
    ANSWERS.labels("declined" if abstained else "answered", stage).inc()


def record_index(built_at: str | None, load_seconds: float) -> None:
    if built_at:
        with contextlib.suppress(ValueError):  # an odd timestamp must not stop a reload
            INDEX_BUILT.set(datetime.fromisoformat(built_at).timestamp())
    INDEX_LOAD.set(load_seconds)


def worker_exit() -> None:
    """Drop this worker's live gauges (queue depth) from the shared folder as it stops."""
    if os.environ.get(MULTIPROC_ENV):
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def exposition() -> tuple[bytes, str]:
    """The metrics text, summed over every worker in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path or "/"
    # Answered before routing (429, 413): find the route it was meant for. Never the raw
    # path, so a scanner cannot create a label per URL it tries.
    router = getattr(scope.get("app"), "router", None)
    return _match(getattr(router, "routes", ()), scope) or "other"


def _match(routes: Iterable[Any], scope: Scope) -> str | None:
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is not Match.FULL:
            continue
        # FastAPI keeps an included router as one entry; its own routes say which matched.
        inner = getattr(getattr(candidate, "original_router", None), "routes", None)
        if inner is not None:
            return _match(inner, scope)
        path = getattr(candidate, "path", None)
        return path if isinstance(path, str) and path else None
    return None


class MetricsMiddleware:
    """Counts every HTTP request by route and status and times it (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = _route_of(scope)
            REQUESTS.labels(route, scope.get("method", ""), str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
