"""Liveness, readiness and the draining flag.

Liveness says only that the event loop answers. Readiness says the gateway should get traffic:
its configuration loaded (it would not be running otherwise), its upstream reachable, and it is
not draining. The shared state store's state is reported beside them without deciding
readiness. Upstream reachability is a TCP connect to the upstream host, cached for
``readiness_cache`` seconds so that frequent probes from many replicas do not become load.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from aiohttp import web
from cachetools import TTLCache
from yarl import URL

from gateway import keys


@dataclass(slots=True)
class DrainState:
    """Set to draining by the server on SIGTERM, read by /readyz; counts the requests in flight
    (maintained by the middleware) so that the drain can wait for them."""

    draining: bool = False
    in_flight: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def request_started(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def request_finished(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """True once no request is in flight, False if ``timeout`` passed first."""
        if self.in_flight == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), max(timeout, 0))
        except TimeoutError:
            return False
        return True


DRAIN_STATE = web.AppKey("drain_state", DrainState)


class UpstreamProbe:
    def __init__(self, base_url: str, timeout: float, ttl: float) -> None:
        url = URL(base_url)
        self._host = url.host or "localhost"
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._timeout = timeout
        self.ttl = ttl
        self._cache: TTLCache[str, str] | None = TTLCache(1, ttl) if ttl > 0 else None
        self._lock = asyncio.Lock()

    async def check(self) -> str:
        """'ok', or why the upstream is not reachable."""
        if self._cache is None:
            return await self._connect()
        async with self._lock:  # one probe at a time; the others reuse its answer
            result = self._cache.get("upstream")
            if result is None:
                result = self._cache["upstream"] = await self._connect()
            return result

    async def _connect(self) -> str:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), self._timeout
            )
        except (TimeoutError, OSError) as exc:
            return f"unreachable ({type(exc).__name__})"
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return "ok"


PROBE = web.AppKey("upstream_probe", UpstreamProbe)


async def healthz(request: web.Request) -> web.Response:
    request[keys.DIALECT] = "ops"
    request[keys.OPERATION] = "healthz"
    # The pid tells operators (and tests) which worker process answered.
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    request[keys.DIALECT] = "ops"
    request[keys.OPERATION] = "readyz"
    draining = request.app[DRAIN_STATE].draining
    upstream = "skipped (draining)" if draining else await request.app[PROBE].check()
    ready = not draining and upstream == "ok"
    checks: dict[str, object] = {"config": "ok", "upstream": upstream, "draining": draining}
    monitor = request.app.get(keys.STORE_MONITOR)
    if monitor is not None:
        # Reported, not required: sends, fetches and lists work without the store, and a
        # shared store going down must not take every replica out of service at once.
        checks["state_store"] = await monitor.check(request.app[PROBE].ttl)
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return web.json_response(body, status=200 if ready else 503)
