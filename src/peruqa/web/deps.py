"""What the routes need, handed to them through ``Depends``.

``create_app`` builds one ``WebContext`` per app and keeps it on ``app.state``; the routes
ask for the parts they use (or the whole context when they need several), so each can be
replaced in a test with ``app.dependency_overrides``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from peruqa.config import Settings
from peruqa.qa.service import QAService
from peruqa.records.feedback import FeedbackStore
from peruqa.records.querylog import QueryLog
from peruqa.web.admission import Admission
from peruqa.web.ratelimit import Limiter, SharedStore
from peruqa.web.reload import Reloader
from peruqa.web.turns import TurnSigner


@dataclass
class WebContext:
    settings: Settings
    service: QAService
    feedback: FeedbackStore
    query_log: QueryLog | None
    admission: Admission
    templates: Jinja2Templates
    reloader: Reloader
    # Failed admin-token attempts per address, in the same storage as the visitor limit.
    admin_failures: Limiter
    # The shared counter store and whether it answers (/health and /ready report it).
    rate_store: SharedStore
    # Signs the turns the no-JS form carries, so none can be forged from elsewhere.
    signer: TurnSigner


def get_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.context
    return context


def get_service(request: Request) -> QAService:
    return get_context(request).service


def get_feedback(request: Request) -> FeedbackStore:
    return get_context(request).feedback


def get_templates(request: Request) -> Jinja2Templates:
    return get_context(request).templates


ContextDep = Annotated[WebContext, Depends(get_context)]
ServiceDep = Annotated[QAService, Depends(get_service)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
