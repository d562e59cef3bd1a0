"""Limits decided from a request's head, before its body is waited for.

A request that declares a body larger than the gateway accepts is answered 413 at once (in the
legacy shape, by the guard), rather than after waiting, up to the slow-client timeout, for a
body that will be refused anyway. The server then reads and discards what the client still
sends for a moment (aiohttp's lingering close) before closing, so that a client busy sending
its body is not reset before it has read the answer.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler


@web.middleware
async def refuse_oversized_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    declared = request.content_length
    limit = request.client_max_size
    if declared is not None and limit and declared > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=declared)
    return await handler(request)
