"""The HTML pages: the chat thread, the source document view and the no-JavaScript forms.

Everything here works without JavaScript; ``web/static/app.js`` only upgrades the chat to
``POST /ask`` and ``POST /feedback`` without reloads. Text reaches the page through Jinja's
autoescaping alone, so passages that contain markup show as text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from peruqa.errors import DocumentNotFoundError, PeruQAError
from peruqa.qa.answering import Answer
from peruqa.qa.service import QAService
from peruqa.text.i18n import LANGUAGE_COOKIE, LANGUAGES, choose_language, message, messages
from peruqa.web.feedback import REASONS, FeedbackStore
from peruqa.web.security import public_message

# Earlier questions a no-JS visitor's thread carries in hidden fields (answers are cached).
MAX_HISTORY = 5
COOKIE_MAX_AGE = 365 * 24 * 3600

LogQuery = Callable[[Request, Answer, float], None]


def _language(request: Request, chosen: str | None = None) -> str:
    return choose_language(
        chosen or request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def _remember(response: Response, request: Request, language: str) -> Response:
    """Keep an explicit ``?lang=`` choice in a cookie for the next visits."""
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=COOKIE_MAX_AGE, samesite="lax", httponly=True
        )
    return response


def _url(path: str, **params: str | int | None) -> str:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"{path}?{query}" if query else path


def _base(request: Request, language: str, switch_url: str) -> dict[str, Any]:
    other = "es" if language == "en" else "en"
    return {
        "t": messages(language),
        "lang": language,
        "other_lang": other,
        "switch_url": switch_url,
    }


def pages_router(templates: Jinja2Templates, service: QAService, log_query: LogQuery) -> APIRouter:
    router = APIRouter()

    def ask(request: Request, question: str) -> Answer:
        started = time.perf_counter()
        answer = service.ask(question)
        log_query(request, answer, started)
        return answer

    def render_chat(
        request: Request,
        question: str | None,
        history: list[str],
        chosen: str | None = None,
        feedback_sent: bool = False,
    ) -> Response:
        language = _language(request, chosen)
        turns: list[Answer] = []
        for earlier in history[-MAX_HISTORY:]:
            try:
                turns.append(ask(request, earlier))
            except PeruQAError:
                continue  # an earlier question that no longer works just drops out
        error = None
        if question is not None and question.strip():
            try:
                turns.append(ask(request, question))
            except PeruQAError as exc:
                error = public_message(exc.message)
        elif question is not None:
            error = message("error_empty", language)
        other = "es" if language == "en" else "en"
        last = turns[-1].question if turns else None
        context = _base(request, language, _url("/", q=last, lang=other))
        context.update(
            turns=turns,
            history=[turn.question for turn in turns][-MAX_HISTORY:],
            question=question if error else "",
            error=error,
            feedback_sent=feedback_sent,
            reasons=REASONS,
        )
        response = templates.TemplateResponse(
            request, "index.html", context, status_code=422 if error else 200
        )
        return _remember(response, request, language)

    @router.get("/", response_class=HTMLResponse)
    def page(request: Request, q: str | None = None, feedback: str | None = None) -> Response:
        return render_chat(request, q, [], feedback_sent=feedback == "sent")

    @router.post("/", response_class=HTMLResponse)
    def page_form(
        request: Request,
        question: Annotated[str, Form()] = "",
        history: Annotated[list[str] | None, Form()] = None,
        lang: Annotated[str | None, Form()] = None,
    ) -> Response:
        return render_chat(request, question, history or [], lang)

    @router.get("/documents/{doc_id}", response_class=HTMLResponse)
    def document(
        request: Request, doc_id: str, start: int | None = None, end: int | None = None
    ) -> Response:
        doc = service.snapshot.data.documents.get(doc_id)
        if doc is None:
            raise DocumentNotFoundError(f"No document with id '{doc_id}' in the library.")
        language = _language(request)
        size = len(doc.text)
        lo = min(max(start or 0, 0), size)
        hi = min(max(end or 0, lo), size)
        # Passages end on paragraph breaks; a highlighted blank line would look like a smear.
        while hi > lo and doc.text[hi - 1].isspace():
            hi -= 1
        while lo < hi and doc.text[lo].isspace():
            lo += 1
        other = "es" if language == "en" else "en"
        switch = _url(f"/documents/{doc_id}", start=start, end=end, lang=other)
        context = _base(request, language, switch + ("#passage" if hi > lo else ""))
        context.update(
            doc=doc,
            before=doc.text[:lo],
            passage=doc.text[lo:hi],
            after=doc.text[hi:],
            page=doc.page_at(lo) if hi > lo else None,
            # Only web links become links; a "javascript:" URL in metadata stays text.
            link=doc.url if doc.url.startswith(("https://", "http://")) else None,
        )
        response = templates.TemplateResponse(request, "document.html", context)
        return _remember(response, request, language)

    @router.post("/feedback/form")
    def feedback_form(
        request: Request,
        question: Annotated[str, Form()],
        helpful: Annotated[str, Form()],
        answer: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        lang: Annotated[str, Form()] = "en",
    ) -> Response:
        """The feedback form without JavaScript: store, then back to the answer with thanks."""
        store: FeedbackStore = request.app.state.feedback
        language = lang if lang in LANGUAGES else "en"
        store.add(question, answer, helpful == "1", reason or None, language)
        target = _url("/", q=question, lang=language, feedback="sent") + "#status"
        return RedirectResponse(target, status_code=303)

    return router
