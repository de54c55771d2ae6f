"""One way in to the model for every route that asks: ``/ask``, ``POST /`` and ``GET /?q=``.

Each goes through the same checks, cost bound, fair admission, timeout, query log and
metrics, and each request asks exactly one question.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from peruqa.index.embedding import question_tokens
from peruqa.qa.answering import Answer
from peruqa.text.i18n import message
from peruqa.web import metrics
from peruqa.web.admission import OverloadedError, TooManyPendingError
from peruqa.web.deps import WebContext
from peruqa.web.ratelimit import client_of
from peruqa.web.security import staff_key


@dataclass(frozen=True)
class Asked:
    answer: Answer
    # Set when the question was cut to the words the model reads; in the visitor's language.
    notice: str | None


def bound_question(
    question: str, max_words: int, max_tokens: int, tokens: Callable[[str], int]
) -> tuple[str, bool]:
    """The question cut to ``max_words`` words (and 8 characters a word) and to
    ``max_tokens`` as ``tokens`` counts them, and whether it was cut.

    The model's cost grows with the question's tokens: a 1,000-character question cost up
    to 2.4 s against ~20 ms for a normal one, and 256 rare characters (one word, a token
    each) 400 ms. Words and characters are a cheap first cut; the token count is the bound.
    """
    words = question.split()
    cut = " ".join(words[:max_words])
    limit = max_words * 8
    if len(cut) > limit:
        cut = cut[:limit].rstrip()
    if tokens(cut) > max_tokens:
        # The longest prefix within the budget: tokens grow with the prefix.
        low, high = 0, len(cut)
        while low < high:
            middle = (low + high + 1) // 2
            if tokens(cut[:middle]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        cut = cut[:low].rstrip()
    return cut, cut != " ".join(words)


async def ask_question(
    context: WebContext, request: Request, question: str, top_k: int | None = None
) -> Asked:
    """Answer one question for one request, or raise a PeruQAError the handlers translate."""
    started = time.perf_counter()
    service = context.service
    settings = context.settings
    cleaned = service.validate(question)  # empty or over PERUQA_MAX_QUESTION_CHARS: 422
    bounded, truncated = bound_question(
        cleaned,
        settings.max_question_words,
        settings.max_question_tokens,
        functools.partial(question_tokens, service.embedder),
    )
    # A staff key is its own client with its own share of the queue: scripts that send
    # several questions at once are not refused for a visitor's per-address share.
    staff = staff_key(request.scope, settings.api_keys)
    client = client_of(request.scope) if staff is None else f"staff:{staff}"
    share = None if staff is None else settings.staff_queue_share
    try:
        answer = await context.admission.run(client, lambda: service.ask(bounded, top_k), share)
    except OverloadedError as error:
        reason = "too_many_pending" if isinstance(error, TooManyPendingError) else "busy"
        metrics.REFUSED.labels(reason).inc()
        raise
    metrics.record_answer(answer.abstained, answer.stage)
    if context.query_log is not None:
        address = request.client.host if request.client else None
        build = service.current.data.manifest.build_id if service.current else None
        context.query_log.record(answer, (time.perf_counter() - started) * 1000, address, build)
    notice = None
    if truncated:
        notice = message("truncated", answer.language).format(words=settings.max_question_words)
    return Asked(answer, notice)
