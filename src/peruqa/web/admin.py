"""The admin token check, with failed attempts rate limited per address."""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse

from peruqa.web.deps import WebContext
from peruqa.web.ratelimit import client_of
from peruqa.web.schemas import error_body


@dataclass(frozen=True)
class Denial:
    status: int
    code: str
    message: str


def admin_denial(admin_token: str | None, authorization: str | None) -> Denial | None:
    """Why an admin request is refused, or None when its bearer token is right."""
    if not admin_token:
        return Denial(
            404,
            "admin_disabled",
            "The admin endpoints are off: set PERUQA_ADMIN_TOKEN on the server to use them.",
        )
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Denial(401, "unauthorized", "Send the admin token as 'Authorization: Bearer …'.")
    if not hmac.compare_digest(token.strip().encode(), admin_token.encode()):
        return Denial(403, "forbidden", "The admin token is not valid.")
    return None


def admin_check(context: WebContext, request: Request) -> JSONResponse | None:
    """None when the bearer token is right, else the response that refuses the request.

    Only failures spend from the address's allowance (PERUQA_ADMIN_FAILURES_PER_MINUTE), so
    an operator with the right token is never slowed, and guessing is.
    """
    client = client_of(request.scope)
    wait = context.admin_failures.blocked(client)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        return JSONResponse(
            error_body("rate_limited", f"Too many failed admin attempts; wait {seconds} s."),
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
    denial = admin_denial(context.settings.admin_token, request.headers.get("authorization"))
    if denial is None:
        return None
    if denial.status in (401, 403):
        context.admin_failures.hit(client)
    headers = {"WWW-Authenticate": "Bearer"} if denial.status == 401 else None
    return JSONResponse(
        error_body(denial.code, denial.message), status_code=denial.status, headers=headers
    )
