"""What happens to a request's work when its client goes away.

The server cancels a request's handler when the client's connection is lost (aiohttp's
``handler_cancellation``, set in :func:`gateway.client_limits.handler_args`), so that an
abandoned list stops its upstream reads at once instead of walking pages for nobody: a hundred
list requests sent and abandoned within 20 ms used to keep the gateway busy for seconds.

A send must not be cut off that way: once its request may be upstream, stopping half-way
leaves the message's fate unknown to everyone and aborts the connection it travels on.
:func:`shield_unsafe` runs every request whose method is not safe (POST, PUT, DELETE...) in its
own task that the client's disconnection does not cancel; it finishes (within the request's
budget) and its answer is dropped. Safe methods (GET, HEAD, OPTIONS) are cancellable.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.upstream.retry import SAFE_METHODS

# Shielded handlers still running after their client left; held so that the loop does not
# collect them half-way (asyncio keeps only weak references to tasks).
_ORPHANS: set[asyncio.Task[web.StreamResponse]] = set()


@web.middleware
async def shield_unsafe(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS:
        return await handler(request)
    task = asyncio.ensure_future(handler(request))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            _ORPHANS.add(task)
            task.add_done_callback(_finished)
        raise


def _finished(task: asyncio.Task[web.StreamResponse]) -> None:
    _ORPHANS.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: the guard already logged anything worth logging


def orphans() -> int:
    """Shielded requests still finishing for clients that left."""
    return len(_ORPHANS)
