"""The admin token check, with failed attempts rate limited per address and per token
prefix, and the right token never refused."""

from __future__ import annotations

import hashlib
import math

from fastapi import Request
from fastapi.responses import JSONResponse

from peruqa.web.deps import WebContext
from peruqa.web.ratelimit import client_of
from peruqa.web.reload import admin_denial
from peruqa.web.schemas import error_body

# Wrong tokens that start alike count together, wherever they come from: guessing spread
# over many addresses still spends one allowance per prefix.
_PREFIX_CHARS = 4


def _failure_keys(client: str, authorization: str | None) -> list[str]:
    keys = [f"address:{client}"]
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        # Hashed: a near miss (an operator's typo) keeps its first letters out of the store.
        digest = hashlib.sha256(token[:_PREFIX_CHARS].encode()).hexdigest()[:16]
        keys.append(f"prefix:{digest}")
    return keys


def admin_check(context: WebContext, request: Request) -> JSONResponse | None:
    """None when the bearer token is right, else the response that refuses the request.

    The right token is checked first and always accepted: an operator behind a proxy
    shared with a guesser is never locked out. Wrong ones spend from the allowance
    (PERUQA_ADMIN_FAILURES_PER_MINUTE) of their address and of their first characters;
    once either is spent they get 429 without being compared.
    """
    authorization = request.headers.get("authorization")
    denial = admin_denial(context.settings.admin_token, authorization)
    if denial is None:
        return None
    if denial.status in (401, 403):
        keys = _failure_keys(client_of(request.scope), authorization)
        wait = max(context.admin_failures.blocked(key) for key in keys)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            return JSONResponse(
                error_body("rate_limited", f"Too many failed admin attempts; wait {seconds} s."),
                status_code=429,
                headers={"Retry-After": str(seconds)},
            )
        for key in keys:
            context.admin_failures.hit(key)
    headers = {"WWW-Authenticate": "Bearer"} if denial.status == 401 else None
    return JSONResponse(
        error_body(denial.code, denial.message), status_code=denial.status, headers=headers
    )
