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
from pydantic import ValidationError

from peruqa.config import HISTORY_MAX_TURNS, Settings
from peruqa.errors import DocumentNotFoundError, PeruQAError
from peruqa.qa.followup import Turn
from peruqa.qa.reply import AskResponse, CitationOut, to_response
from peruqa.records.feedback import REASONS
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

# Earlier turns a no-JS visitor's thread carries in hidden fields. They hold the answers
# themselves (passages cut to the quote), so a new question re-renders them without asking
# the model again: one request is one question.
MAX_HISTORY = 5
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


# What the page does not show of a carried citation is blanked: the whole thread must fit
# the body limit (16 KB) with a 1,000-character question beside it.
_UNSHOWN = {"source": "", "chunk_id": "", "url": "", "score": 0.0}


def _compact_citation(citation: CitationOut, keep_quote: bool) -> CitationOut:
    quote = citation.text[citation.quote_start : citation.quote_end] if keep_quote else ""
    return citation.model_copy(
        update={**_UNSHOWN, "text": quote, "quote_start": 0, "quote_end": len(quote)}
    )


def carry(turn: AskResponse) -> str:
    """A turn as the hidden field that brings it back on the next form post (~1 KB)."""
    compact = turn.model_copy(
        update={
            "citations": [_compact_citation(c, True) for c in turn.citations[:2]],
            "related": [_compact_citation(c, False) for c in turn.related[:2]],
            "notice": None,
        }
    )
    return compact.model_dump_json()


# The most a question's character can take in a form body: a 4-byte UTF-8 character
# (an emoji) percent-encoded is 12 bytes; CJK takes 9, and ASCII from 1 to 3.
_MAX_FORM_BYTES_PER_CHAR = 12
# What the form sends besides the question and the turns: its language, the separators.
_FORM_OVERHEAD = 256


def _fitting(carried: list[str], settings: Settings, question: str | None = None) -> list[str]:
    """The newest carried turns whose form encoding stays under the body limit beside the
    next question; older ones drop out. The next question is the one given (a form sent
    back as too long) or else the longest legal one, by its real encoded size."""
    if question is None:
        reserved = len("question=") + _MAX_FORM_BYTES_PER_CHAR * settings.max_question_chars
    else:
        reserved = len(urlencode({"question": question}))
    budget = settings.max_body_bytes - reserved - _FORM_OVERHEAD
    kept: list[str] = []
    for field in reversed(carried):
        budget -= len(urlencode({"turn": field})) + 1
        if budget < 0:
            break
        kept.append(field)
    return kept[::-1]


def _carried(
    context: WebContext, turns: list[AskResponse], question: str | None = None
) -> list[str]:
    """The thread's turns as signed hidden fields that fit the next form post."""
    payloads = [carry(turn) for turn in turns][-MAX_HISTORY:]
    bound_to = _build(context)
    kept = _fitting(context.signer.sign(payloads, bound_to), context.settings, question)
    # The signatures chain from the oldest kept turn on: signed again from there (the same
    # sizes, so they still fit).
    return context.signer.sign(payloads[len(payloads) - len(kept) :], bound_to)


def _build(context: WebContext) -> str:
    """The index build that signed turns are bound to ("" while none is loaded)."""
    snapshot = context.service.current
    return snapshot.data.manifest.build_id if snapshot else ""


def earlier_turns(fields: list[str]) -> list[AskResponse]:
    """Turns sent back by the form, once their signatures are checked (``TurnSigner``);
    every text still goes through autoescaping."""
    turns = []
    for field in fields[-MAX_HISTORY:]:
        try:
            turns.append(AskResponse.model_validate_json(field))
        except ValidationError:
            continue  # an old or damaged field just drops out of the thread
    return turns


def thread_history(turns: list[AskResponse]) -> list[Turn]:
    """The thread's last turns as the history of the next question, as the script sends
    them: a declined turn carries no answer."""
    return [
        Turn(turn.question, None if turn.abstained else turn.answer)
        for turn in turns[-HISTORY_MAX_TURNS:]
    ]


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
        error, status = message("error_too_long", language), 413
    elif question is not None and question.strip():
        try:
            reply = await ask_question(context, request, question, history=thread_history(turns))
            turns.append(to_response(reply))
        except PeruQAError as exc:
            error = public_message(exc.message)
            status, headers = exc.status, error_headers(exc)
    elif question is not None:
        error, status = message("error_empty", language), 422
    last = turns[-1].question if turns else None
    page = _base(request, language, lambda other: _url("/", q=last, lang=other))
    page.update(
        turns=turns,
        carried=_carried(context, turns, question if too_long else None),
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
    verified = context.signer.verify(turn or [], _build(context))
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
        doc_id=doc_id[:300] or None,
        confidence=confidence if confidence is not None and 0 <= confidence <= 1 else None,
    )
    target = _url("/", lang=language, feedback="sent") + "#status"
    return RedirectResponse(target, status_code=303)
