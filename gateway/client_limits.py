"""Client limits at the connection level.

The limits aiohttp has no knob for live here: a cap on open client connections and a timeout
for slow clients, both at the connection level (:class:`LimitedSite`), because a slow client is
one whose request never becomes a request a middleware could see.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web

from gateway.config import Settings
from gateway.probe_lane import PROBE_SLOTS, ProbeGate

# --- client limits at the connection level -----------------------------------------------------


def handler_args(s: Settings) -> dict[str, Any]:
    """aiohttp server arguments for the header limits: a longer request line or header is
    refused by aiohttp's parser (400) before any handler runs. A handler is cancelled when its
    client disconnects (gateway.cancellation shields the sends)."""
    return {
        "max_line_size": s.max_header_size,
        "max_field_size": s.max_header_size,
        "handler_cancellation": True,
    }


@dataclass(slots=True)
class _Connection:
    """What the slow-client check needs to know about one connection."""

    idle_since: float
    # id(request) -> (request, when it started); requests are mappings, so not hashable
    active: dict[int, tuple[web.BaseRequest, float]] = field(default_factory=dict)


# Connections of every LimitedSite in this process, by aiohttp's protocol object, so that the
# guard middleware (which sees requests, not connections) can say when a request starts and ends.
_CONNECTIONS: dict[object, _Connection] = {}


def request_started(request: web.BaseRequest) -> None:
    conn = _CONNECTIONS.get(request.protocol)
    if conn is not None:
        conn.active[id(request)] = (request, asyncio.get_running_loop().time())


def request_finished(request: web.BaseRequest) -> None:
    conn = _CONNECTIONS.get(request.protocol)
    if conn is not None:
        conn.active.pop(id(request), None)
        conn.idle_since = asyncio.get_running_loop().time()


class _ConnectionGuard(asyncio.Protocol):
    """Sits between the transport and aiohttp's protocol: refuses connections beyond the limit
    and closes those on which the client is too slow (slowloris). aiohttp has no timeout for a
    request that arrives byte by byte; its keep-alive timer only runs between requests."""

    def __init__(self, inner: Any, site: LimitedSite) -> None:
        self._inner = inner
        self._site = site
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._accepted = False
        self._probe: ProbeGate | None = None  # beyond the cap: on probation (gateway.probe_lane)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)
        site = self._site
        if site.open_connections >= site.max_connections:
            if site.probe_connections >= PROBE_SLOTS:
                site.refused += 1
                self._transport.abort()
                return
            self._probe = ProbeGate()
            site.probe_connections += 1
        else:
            site.open_connections += 1
        self._accepted = True
        loop = asyncio.get_running_loop()
        _CONNECTIONS[self._inner] = _Connection(idle_since=loop.time())
        self._inner.connection_made(transport)
        self._arm(loop)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = loop.call_later(max(0.05, self._site.client_timeout / 4), self._check)

    def _check(self) -> None:
        conn = _CONNECTIONS.get(self._inner)
        if conn is None or self._transport is None:
            return
        loop = asyncio.get_running_loop()
        now, limit = loop.time(), self._site.client_timeout
        waiting_on_client = (not conn.active and now - conn.idle_since >= limit) or any(
            not request.content.is_eof() and now - started >= limit
            for request, started in conn.active.values()
        )
        if waiting_on_client:
            self._site.timed_out += 1
            self._transport.close()
            return
        self._arm(loop)

    def data_received(self, data: bytes) -> None:
        if self._probe is not None:
            passed = self._probe.feed(data)
            if passed is None:
                self._site.refused += 1
                assert self._transport is not None
                self._transport.abort()
                return
            if not passed:
                return
            data = passed
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()  # type: ignore[no-any-return]

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self._accepted:
            return
        if self._probe is not None:
            self._site.probe_connections -= 1
        else:
            self._site.open_connections -= 1
        _CONNECTIONS.pop(self._inner, None)
        self._inner.connection_lost(exc)


class LimitedSite(web.BaseSite):
    """A TCP site with the gateway's connection limits: at most ``max_client_connections`` open
    at once (more are closed at once) and ``client_timeout`` for a client to send a whole request
    (head and body) or, between requests, to start the next one."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        settings: Settings,
        *,
        reuse_port: bool = False,
        backlog: int = 128,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._ssl_context = ssl_context
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self.max_connections = settings.max_client_connections
        self.client_timeout = settings.client_timeout
        self.open_connections = 0
        self.probe_connections = 0  # beyond the cap, on probation as health probes
        self.refused = 0  # connections closed for being over the limit
        self.timed_out = 0  # connections closed for a slow client

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _ConnectionGuard(server(), self),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
            reuse_port=self._reuse_port or None,
            ssl=self._ssl_context,
            # The handshake comes before any request the slow-client check could see.
            ssl_handshake_timeout=self.client_timeout if self._ssl_context else None,
        )
