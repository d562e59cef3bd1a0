"""A bound on concurrent upstream calls per process.

The connection pool (``upstream_max_connections``) already bounds sockets; this bounds whole
calls, retries included, so that a slow upstream makes requests queue here for a bounded time
instead of piling up without limit. A call that cannot start within the wait budget is answered
503/20503: nothing was sent, so the client may safely retry.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway import errors
from gateway.model import ApiError, Credentials
from gateway.upstream.deadline import budget_for, exhausted
from gateway.upstream.http import Params, UpstreamClient


class BoundedUpstreamClient(UpstreamClient):
    def __init__(self, *args: Any, max_concurrency: int, max_wait: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_wait = max_wait

    async def call(
        self,
        method: str,
        path: str,
        creds: Credentials,
        *,
        params: Params | None = None,
        form: Params | None = None,
    ) -> Any:
        try:
            if self._slots.locked():
                # The request's deadline bounds this wait too (gateway.upstream.deadline).
                wait = budget_for(self._max_wait)
                if wait <= 0:
                    raise exhausted(method)
                try:
                    await asyncio.wait_for(self._slots.acquire(), wait)
                except TimeoutError:
                    if wait < self._max_wait:
                        raise exhausted(method) from None
                    raise
            else:
                # A free slot is taken at once; wait_for would still wrap it in a task.
                await self._slots.acquire()
        except TimeoutError:
            raise ApiError(
                503,
                "The gateway has too many upstream requests in flight; the request was not sent",
                errors.UPSTREAM_UNAVAILABLE,
            ) from None
        try:
            return await super().call(method, path, creds, params=params, form=form)
        finally:
            self._slots.release()
