"""The whole-request time budget of the legacy dialects.

``--upstream-timeout`` bounds all the upstream work of one legacy request together: a list's
page walk and total walk, every retry, backoff and wait for a concurrency slot. Each legacy
dialect's sub-application installs the middleware, so it sees only that dialect's requests; a
handler marked :func:`exempt` (the current-API passthrough, whose one upstream call has its own
timeout) is left alone. The middleware opens the request's deadline (:mod:`gateway.upstream.deadline`), which the upstream client and
the limiter honour, so the request fails as a legacy 504 / 20504 once it is spent.

Waits that are not upstream calls (one list's lock, held by a concurrent request walking the
same list) are caught by a last-resort ``asyncio.timeout`` a moment after the deadline.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway import errors
from gateway.model import ApiError
from gateway.upstream.deadline import close_deadline, open_deadline
from gateway.upstream.retry import SAFE_METHODS

# After the deadline, the time the upstream client gets to turn its own timeout into the
# precise error before the request is cut off from outside.
GRACE = 0.25


_EXEMPT = "_gateway_budget_exempt"

H = TypeVar("H", bound=Handler)


def exempt(handler: H) -> H:
    """Mark a route's handler as outside the request budget (per-route metadata the middleware
    reads from the matched route)."""
    setattr(handler, _EXEMPT, True)
    return handler


def _cut_off(method: str, seconds: float) -> ApiError:
    why = f"The request did not complete within the gateway's total timeout ({seconds:g} s)"
    if method.upper() in SAFE_METHODS:
        return ApiError(504, why, errors.UPSTREAM_TIMEOUT)
    # A send cut off from outside may have reached upstream already.
    return ApiError(
        504,
        f"{why}; whether the message was sent is unknown. Check the message list before "
        "sending it again.",
        errors.OUTCOME_UNKNOWN,
    )


def make_middleware(seconds: float) -> Middleware:
    @web.middleware
    async def budget(request: web.Request, handler: Handler) -> web.StreamResponse:
        if getattr(request.match_info.handler, _EXEMPT, False):
            return await handler(request)
        deadline, token = open_deadline(seconds)
        try:
            timeout = asyncio.timeout_at(deadline + GRACE)
            try:
                async with timeout:
                    return await handler(request)
            except TimeoutError:
                if not timeout.expired():
                    raise
                raise _cut_off(request.method, seconds) from None
        finally:
            close_deadline(token)

    return budget
