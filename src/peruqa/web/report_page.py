"""``GET /admin/report``: the maintainers' report as a page, behind the admin token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from peruqa.records.querylog import FILE_NAME
from peruqa.records.report import NOT_LOGGED, build_report, daily_svg, read_query_log
from peruqa.text.languages import DEFAULT_LANGUAGE
from peruqa.web.admin import admin_check
from peruqa.web.deps import ContextDep

router = APIRouter(include_in_schema=False)


@router.get("/admin/report", response_class=HTMLResponse)
def report_page(request: Request, context: ContextDep) -> Response:
    admin_check(context, request)
    settings = context.settings
    report = build_report(
        read_query_log(settings.data_dir / FILE_NAME, settings.query_log_backups),
        context.feedback.list(),
    )
    page = {
        "report": report,
        # Built from numbers and escaped day labels only (peruqa.records.report.daily_svg).
        "chart": Markup(daily_svg(report.days)),
        "lang": DEFAULT_LANGUAGE,
        "not_logged": NOT_LOGGED,
    }
    return context.templates.TemplateResponse(request, "report.html", page)
