"""One time budget for all the upstream work of one legacy request.

A legacy list can cost several upstream calls (a page walk, then a total walk), each with
retries and waits for a concurrency slot. Each call already fits its own budget; this bounds
them together: the request middleware (:mod:`gateway.request_budget`) opens a deadline in a context
variable, and the upstream client and the concurrency limiter give each call only what is left
of it. Outside a request (no deadline) every call keeps its own budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from gateway import errors
from gateway.model import ApiError
from gateway.upstream.retry import SAFE_METHODS

# Event-loop time by which the current request's upstream work must be done.
_deadline: ContextVar[float | None] = ContextVar("gateway_upstream_deadline", default=None)


def open_deadline(seconds: float) -> tuple[float, Token[float | None]]:
    """Bound the upstream work from here (and the tasks started from here) to ``seconds``, until
    :func:`close_deadline`; an enclosing, earlier deadline stays in force. Returns the deadline
    (event-loop time) and the token that closes it. The per-request middleware uses this pair:
    a generator context manager costs it ~13k instructions a request."""
    deadline = asyncio.get_running_loop().time() + seconds
    outer = _deadline.get()
    if outer is not None:
        deadline = min(deadline, outer)
    return deadline, _deadline.set(deadline)


def close_deadline(token: Token[float | None]) -> None:
    _deadline.reset(token)


@contextmanager
def request_deadline(seconds: float) -> Iterator[float]:
    """:func:`open_deadline` as a ``with`` block. Yields the deadline (event-loop time)."""
    deadline, token = open_deadline(seconds)
    try:
        yield deadline
    finally:
        close_deadline(token)


def remaining() -> float | None:
    """Seconds left of the current request's budget (may be <= 0), or None outside one."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return deadline - asyncio.get_running_loop().time()


def budget_for(own: float) -> float:
    """A call's own budget, cut to what the request has left."""
    left = remaining()
    return own if left is None else min(own, left)


def exhausted(method: str) -> ApiError:
    """The error for an upstream call the request has no time left for: nothing was sent, so a
    send says so (503, safe to retry); a read is a timeout like any other (504)."""
    if method.upper() in SAFE_METHODS:
        return ApiError(
            504,
            "The upstream Twilio API did not answer within the gateway's total timeout",
            errors.UPSTREAM_TIMEOUT,
        )
    return ApiError(
        503,
        "The gateway's total timeout ran out before the request could be sent; it was not sent",
        errors.UPSTREAM_UNAVAILABLE,
    )
