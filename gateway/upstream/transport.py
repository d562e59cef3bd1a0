"""HTTP/1.1 to the upstream API over a pool of keep-alive connections: the one hop every legacy
request makes.

Why not aiohttp's client, which the passthrough and the callbacks use: the legacy dialects need
one thing from it, a request to one known origin and its whole answer, and under callgrind one
aiohttp client call costs about 314k instructions here where this exchange costs about 20k
(``python -m tests.bench.clientcost``; docs/performance.md). That difference is a third of the
gateway's work per fetch. Parsing, the part worth not writing, is httptools (llhttp, the parser
of Node.js); TLS and sockets are the event loop's.

This module is the pool, and the public entry: keep-alive connections reused most-recent first
and closed after ``idle_timeout``; at most ``max_connections`` open, later calls wait for one; a
request head and body written in one go; HEAD refused (see :mod:`gateway.upstream.exchange`).
One connection and the exchange on it (parsing, decoding, interim answers, the head and
``max_body`` bounds, the timer, and the failures :class:`Unreachable`,
:class:`TimedOut`, :class:`Broken`, :class:`TooLarge`, re-exported here) are
:mod:`gateway.upstream.exchange`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlsplit

from gateway.upstream.exchange import (
    Answer,
    Broken,
    Connection,
    Exchange,
    TimedOut,
    TooLarge,
    TransportError,
    Unreachable,
)

__all__ = [
    "Answer", "Broken", "Pool", "TimedOut", "TooLarge", "TransportError", "Unreachable",
]


class Pool:
    """Keep-alive HTTP/1.1 connections to the one origin of ``base_url`` (http or https)."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 100,
        idle_timeout: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "sms-gateway",
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream URL must be http:// or https:// with a host: {base_url!r}")
        self.base_path = parts.path.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        default_port = self._port == (443 if parts.scheme == "https" else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._authority = host if default_port else f"{host}:{self._port}"
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
        self._max = max_connections
        self._idle_timeout = idle_timeout
        self._fixed_headers = f"Host: {self._authority}\r\nUser-Agent: {user_agent}\r\n" + (
            "Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\n"
        )
        self.loop = asyncio.get_running_loop()
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._connecting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    async def request(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        deadline: float,
        connect_timeout: float,
        read_timeout: float | None,
        max_body: int,
    ) -> Answer:
        """One exchange. ``target`` is the path and query under the base URL, already
        percent-encoded; ``deadline`` is loop time; ``read_timeout`` bounds each silence."""
        if method.upper() == "HEAD":
            raise ValueError("HEAD is not supported: its answer's framing cannot be read")
        head = self._head(method, self.base_path + target, headers, body)
        conn = await self._acquire(deadline, connect_timeout)
        waiter: asyncio.Future[Answer] = self.loop.create_future()
        exchange = Exchange(waiter, max_body, deadline, read_timeout)
        conn.send(exchange, head + body if body else head)
        try:
            return await waiter
        finally:
            conn.abandon(exchange)

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(self._open):
            conn.close()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    # -- connections

    async def _acquire(self, deadline: float, connect_timeout: float) -> Connection:
        while True:
            # Checked on every pass: close() wakes the waiters, and one woken by it must not
            # open a connection on a closed pool.
            if self._closed:
                raise Unreachable("the upstream pool is closed")
            now = self.loop.time()
            while self._idle:
                conn = self._idle.pop()  # the most recent: the least likely to be stale
                if (
                    not conn.closed
                    and conn.transport is not None
                    and not conn.transport.is_closing()
                    and now - conn.last_active < self._idle_timeout
                ):
                    return conn
                conn.close()
            if len(self._open) + self._connecting < self._max:
                return await self._connect(min(deadline - now, connect_timeout))
            waiter: asyncio.Future[None] = self.loop.create_future()
            self._waiters.append(waiter)
            woken = False
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
                woken = True
            except TimeoutError:
                raise Unreachable("no upstream connection became free in time") from None
            finally:
                if not waiter.done():
                    waiter.cancel()
                    self._waiters.remove(waiter)
                elif not woken and not waiter.cancelled():
                    # Woken for a freed connection but leaving without it (cancelled, or out of
                    # time, in the same instant): pass the wake on, or the next waiter sleeps
                    # while a connection lies idle.
                    self._wake()

    async def _connect(self, timeout: float) -> Connection:
        if timeout <= 0:
            raise Unreachable("no time left to connect")
        self._connecting += 1
        try:
            async with asyncio.timeout(timeout):
                _, conn = await self.loop.create_connection(
                    lambda: Connection(self), self._host, self._port, ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except TimeoutError:
            raise Unreachable(f"connect timed out after {timeout:.3g}s") from None
        except (OSError, ssl.SSLError) as exc:
            raise Unreachable(f"connect failed: {exc.__class__.__name__}") from None
        finally:
            self._connecting -= 1
        self._open.add(conn)
        return conn

    def release(self, conn: Connection) -> None:
        if self._closed:
            conn.close()
            return
        self._idle.append(conn)
        self._wake()
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self._idle_timeout, self._sweep)

    def forget(self, conn: Connection) -> None:
        self._open.discard(conn)
        self._wake()  # a slot to connect anew

    def _wake(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _sweep(self) -> None:
        self._sweeper = None
        cutoff = self.loop.time() - self._idle_timeout
        for conn in [c for c in self._idle if c.last_active <= cutoff]:
            self._idle.remove(conn)
            conn.close()
        if self._idle:
            # Next when the longest-idle one is due, not a whole timeout later (a timer may fire
            # a hair early, which would otherwise leave a connection open for twice the timeout).
            # The floor keeps an early timer from re-arming itself in a tight loop.
            oldest = min(c.last_active for c in self._idle)
            when = max(oldest + self._idle_timeout, self.loop.time() + 0.05)
            self._sweeper = self.loop.call_at(when, self._sweep)

    # -- the request

    def _head(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes | None
    ) -> bytes:
        # Targets and header values are the gateway's own; one with a line break, a control
        # character or (in the target) a space would split the request, so it never leaves.
        if not _printable(target) or " " in target:
            raise ValueError("request target with a space, control or non-ASCII character")
        lines = [f"{method} {target} HTTP/1.1\r\n{self._fixed_headers}"]
        for name, value in headers:
            if not (_printable(name) and _printable(value)):
                raise ValueError(f"header {name!r} with a control or non-ASCII character")
            lines.append(f"{name}: {value}\r\n")
        if body is not None or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            lines.append(f"Content-Length: {len(body or b'')}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("ascii")


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()
