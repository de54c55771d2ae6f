"""One way in to the model for every route that asks: ``/ask``, ``POST /`` and ``GET /?q=``.

Each goes through the same checks, cost bound, fair admission, timeout, query log and
metrics, and each request asks exactly one question.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.requests import Request

from peruqa.errors import OverloadedError, TooManyPendingError
from peruqa.qa.followup import Turn
from peruqa.qa.reply import Reply
from peruqa.web import metrics
from peruqa.web.deps import WebContext
from peruqa.web.ratelimit import client_of


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
    # Checked before it queues: an empty or oversized question, or history over its limits
    # (422 naming the turn), never waits for a thread.
    checked = service.check(question, top_k, history)
    try:
        reply = await context.admission.run(
            client_of(request.scope), lambda: service.reply(checked)
        )
    except OverloadedError as error:
        reason = "too_many_pending" if isinstance(error, TooManyPendingError) else "busy"
        metrics.REFUSED.labels(reason).inc()
        raise
    answer = reply.answer
    metrics.record_answer(answer.abstained, answer.stage)
    if context.query_log is not None:
        client = request.client.host if request.client else None
        build = service.current.data.manifest.build_id if service.current else None
        context.query_log.record(answer, (time.perf_counter() - started) * 1000, client, build)
    return reply
