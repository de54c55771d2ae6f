"""The HTML pages: the chat thread, the source document view and the no-JavaScript forms.

Everything here works without JavaScript; ``web/static/app.js`` only upgrades the chat to
``POST /ask`` and ``POST /feedback`` without reloads. Text reaches the page through Jinja's
autoescaping alone, so passages that contain markup show as text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from peruqa.config import HISTORY_MAX_TURNS
from peruqa.errors import (
    DocumentNotFoundError,
    InvalidQuestionError,
    PayloadTooLargeError,
    PeruQAError,
)
from peruqa.qa.reply import AskResponse, to_response
from peruqa.records.feedback import MAX_DOC_ID_CHARS, REASONS
from peruqa.text.i18n import (
    LANGUAGE_COOKIE,
    choose_language,
    message,
    messages,
    other_languages,
    quoted_in,
)
from peruqa.text.languages import DEFAULT_LANGUAGE, codes, get
from peruqa.web.asking import ask_question
from peruqa.web.deps import ContextDep, FeedbackDep, ServiceDep, TemplatesDep, WebContext
from peruqa.web.responses import error_headers, public_message
from peruqa.web.security import OVERSIZED_FORM, foreign_origin
from peruqa.web.thread import build_of, carried_fields, earlier_turns, thread_history

# The forms whose too-large posts get a page rather than a JSON 413 (BodySizeLimitMiddleware).
PAGE_FORMS = ("/",)
COOKIE_MAX_AGE = 365 * 24 * 3600


def _language(request: Request, chosen: str | None = None) -> str:
    return choose_language(
        chosen or request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def _remember(response: Response, request: Request, language: str) -> Response:
    """Keep an explicit ``?lang=`` choice in a cookie for the next visits."""
    if request.query_params.get("lang") in codes():
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=COOKIE_MAX_AGE, samesite="lax", httponly=True
        )
    return response


def _url(path: str, **params: str | int | None) -> str:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"{path}?{query}" if query else path


def _base(request: Request, language: str, switch_url: Callable[[str], str]) -> dict[str, Any]:
    """What every page shows: its strings, and a link to itself in each other language
    (``switch_url(code)``), named in that language."""
    return {
        "t": messages(language),
        "lang": language,
        "switches": [
            {
                "lang": code,
                "url": switch_url(code),
                "name": get(code).name,
                "label": get(code).switch_label,
            }
            for code in other_languages(language)
        ],
        "quoted_in": quoted_in(language),
    }


def _shown(error: PeruQAError, language: str) -> str:
    """An error as the page shows it: in the visitor's language where the page has its own
    wording of it, else the message the API gives."""
    if isinstance(error, InvalidQuestionError) and error.message_key:
        return message(error.message_key, language)
    return public_message(error.message)


router = APIRouter(include_in_schema=False)


async def _render_chat(
    request: Request,
    context: ContextDep,
    question: str | None,
    history: list[AskResponse],
    chosen: str | None = None,
    feedback_sent: bool = False,
    turns_dropped: bool = False,
    too_long: bool = False,
) -> Response:
    language = _language(request, chosen)
    turns = list(history)
    error = None
    status = 200
    headers: dict[str, str] | None = None
    if too_long:
        # The thread is shown and the question stays in the box; the fields are fitted to
        # this very question, so sending it again goes through.
        error, status = message("error_too_long", language), PayloadTooLargeError.status
    elif question is not None:
        try:
            reply = await ask_question(context, request, question, history=thread_history(turns))
            turns.append(to_response(reply))
        except PeruQAError as exc:
            error = _shown(exc, language)
            status, headers = exc.status, error_headers(exc)
    last = turns[-1].question if turns else None
    page = _base(request, language, lambda other: _url("/", q=last, lang=other))
    page.update(
        turns=turns,
        carried=carried_fields(context, turns, question if too_long else None),
        turns_dropped=turns_dropped,
        question=question if error else "",
        error=error,
        feedback_sent=feedback_sent,
        reasons=REASONS,
        max_question_chars=context.settings.max_question_chars,
        history_turns=HISTORY_MAX_TURNS,
    )
    response = context.templates.TemplateResponse(
        request, "index.html", page, status_code=status, headers=headers
    )
    return _remember(response, request, language)


@router.get("/", response_class=HTMLResponse)
async def page(
    request: Request, context: ContextDep, q: str | None = None, feedback: str | None = None
) -> Response:
    return await _render_chat(request, context, q, [], feedback_sent=feedback == "sent")


@router.post("/", response_class=HTMLResponse)
async def page_form(
    request: Request,
    context: ContextDep,
    question: Annotated[str, Form()] = "",
    turn: Annotated[list[str] | None, Form()] = None,
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    refused = _refuse_foreign(request, context, lang)
    if refused is not None:
        return refused
    verified = context.signer.verify(turn or [], build_of(context))
    history = earlier_turns(verified.fields)
    # Too large a form (BodySizeLimitMiddleware) brings only the fields that arrived whole.
    too_long = bool(request.scope.get(OVERSIZED_FORM))
    return await _render_chat(
        request,
        context,
        question,
        history,
        lang,
        turns_dropped=verified.dropped > 0,
        too_long=too_long,
    )


def _refuse_foreign(request: Request, context: WebContext, chosen: str | None) -> Response | None:
    """The 403 page for a form posted from another site's page, else None."""
    headers = request.headers
    if not foreign_origin(
        headers.get("origin"),
        headers.get("referer"),
        headers.get("host"),
        context.settings.cors_origins,
    ):
        return None
    language = _language(request, chosen)
    page = _base(request, language, lambda other: _url("/", lang=other))
    return context.templates.TemplateResponse(request, "forbidden.html", page, status_code=403)


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document(
    request: Request,
    doc_id: str,
    service: ServiceDep,
    templates: TemplatesDep,
    start: int | None = None,
    end: int | None = None,
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
    anchor = "#passage" if hi > lo else ""

    def switch(other: str) -> str:
        return _url(f"/documents/{doc_id}", start=start, end=end, lang=other) + anchor

    page = _base(request, language, switch)
    page.update(
        doc=doc,
        before=doc.text[:lo],
        passage=doc.text[lo:hi],
        after=doc.text[hi:],
        page=doc.page_at(lo) if hi > lo else None,
        # Only web links become links; a "javascript:" URL in metadata stays text.
        link=doc.url if doc.url.startswith(("https://", "http://")) else None,
    )
    response = templates.TemplateResponse(request, "document.html", page)
    return _remember(response, request, language)


@router.post("/feedback/form")
def feedback_form(
    request: Request,
    context: ContextDep,
    store: FeedbackDep,
    service: ServiceDep,
    question: Annotated[str, Form()],
    helpful: Annotated[str, Form()],
    answer: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = DEFAULT_LANGUAGE,
    doc_id: Annotated[str, Form()] = "",
    confidence: Annotated[float | None, Form()] = None,
) -> Response:
    """The feedback form without JavaScript: store, then back to the page with thanks.

    The redirect goes to the bare page (not ``/?q=``), so saying thanks asks nothing again.
    """
    refused = _refuse_foreign(request, context, lang)
    if refused is not None:
        return refused
    language = lang if lang in codes() else DEFAULT_LANGUAGE
    snapshot = service.current
    store.add(
        question,
        answer,
        helpful == "1",
        reason or None,
        language,
        build=snapshot.data.manifest.build_id if snapshot else None,
        doc_id=doc_id[:MAX_DOC_ID_CHARS] or None,
        confidence=confidence if confidence is not None and 0 <= confidence <= 1 else None,
    )
    target = _url("/", lang=language, feedback="sent") + "#status"
    return RedirectResponse(target, status_code=303)
