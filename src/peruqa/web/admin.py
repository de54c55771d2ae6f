"""The admin token check, with failed attempts rate limited per address."""

from __future__ import annotations

import hmac
import math

from fastapi import Request

from peruqa.errors import (
    AdminDisabledError,
    ForbiddenError,
    PeruQAError,
    RateLimitedError,
    UnauthorizedError,
)
from peruqa.web.deps import WebContext
from peruqa.web.ratelimit import client_of


def admin_denial(admin_token: str | None, authorization: str | None) -> PeruQAError | None:
    """Why an admin request is refused, or None when its bearer token is right."""
    if not admin_token:
        return AdminDisabledError(
            "The admin endpoints are off: set PERUQA_ADMIN_TOKEN on the server to use them."
        )
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return UnauthorizedError("Send the admin token as 'Authorization: Bearer …'.")
    if not hmac.compare_digest(token.strip().encode(), admin_token.encode()):
        return ForbiddenError("The admin token is not valid.")
    return None


def admin_check(context: WebContext, request: Request) -> None:
    """Returns when the bearer token is right; raises the error that refuses the request.

    Only failures spend from the address's allowance (PERUQA_ADMIN_FAILURES_PER_MINUTE), so
    an operator with the right token is never slowed, and guessing is.
    """
    client = client_of(request.scope)
    wait = context.admin_failures.blocked(client)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise RateLimitedError(
            f"Too many failed admin attempts; wait {seconds} s.", retry_after=seconds
        )
    denial = admin_denial(context.settings.admin_token, request.headers.get("authorization"))
    if denial is None:
        return
    if isinstance(denial, UnauthorizedError | ForbiddenError):
        context.admin_failures.hit(client)
    raise denial
