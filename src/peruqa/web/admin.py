"""The admin token check, with failed attempts rate limited per address and per token
prefix, and the right token never refused."""

from __future__ import annotations

import hashlib
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

    The right token is checked first and always accepted: an operator behind a proxy
    shared with a guesser is never locked out. Wrong ones spend from the allowance
    (PERUQA_ADMIN_FAILURES_PER_MINUTE) of their address and of their first characters;
    once either is spent they get 429 without being compared.
    """
    authorization = request.headers.get("authorization")
    denial = admin_denial(context.settings.admin_token, authorization)
    if denial is None:
        return
    if isinstance(denial, UnauthorizedError | ForbiddenError):
        keys = _failure_keys(client_of(request.scope), authorization)
        wait = max(context.admin_failures.blocked(key) for key in keys)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimitedError(
                f"Too many failed admin attempts; wait {seconds} s.", retry_after=seconds
            )
        for key in keys:
            context.admin_failures.hit(key)
    raise denial
