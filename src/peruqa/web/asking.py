"""One way in to the model for every route that asks: ``/ask``, ``POST /`` and ``GET /?q=``.

Each goes through the same checks, cost bound, fair admission, timeout, query log and
metrics, and each request asks exactly one question.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.requests import Request

from peruqa.errors import OverloadedError, TooManyPendingError
from peruqa.qa.conversation import Turn
from peruqa.qa.reply import Reply
from peruqa.web import metrics
from peruqa.web.deps import WebContext
from peruqa.web.ratelimit import client_of
from peruqa.web.security import staff_key


async def ask_question(
    context: WebContext,
    request: Request,
    question: str,
    top_k: int | None = None,
    history: Sequence[Turn] = (),
) -> Reply:
    """Answer one question for one request, or raise a PeruQAError the handlers translate."""
    started = time.perf_counter()
    service = context.service
    settings = context.settings
    # Checked before it queues: an empty or oversized question, or history over its limits
    # (422 naming the turn), never waits for a thread; the cut to
    # PERUQA_MAX_QUESTION_WORDS / _TOKENS is made here, once.
    checked = service.check(question, top_k, history)
    # A staff key is its own client with its own share of the queue: scripts that send
    # several questions at once are not refused for a visitor's per-address share.
    staff = staff_key(request.scope, settings.api_keys)
    client = client_of(request.scope) if staff is None else f"staff:{staff}"
    share = None if staff is None else settings.staff_queue_share
    try:
        reply = await context.admission.run(client, lambda: service.reply(checked), share)
    except OverloadedError as error:
        reason = "too_many_pending" if isinstance(error, TooManyPendingError) else "busy"
        metrics.REFUSED.labels(reason).inc()
        raise
    answer = reply.answer
    metrics.record_answer(answer.abstained, answer.stage)
    if context.query_log is not None:
        address = request.client.host if request.client else None
        build = service.current.data.manifest.build_id if service.current else None
        context.query_log.record(answer, (time.perf_counter() - started) * 1000, address, build)
    return reply
