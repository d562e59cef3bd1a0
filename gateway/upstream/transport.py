"""HTTP/1.1 to the upstream API over a pool of keep-alive connections: the one hop every legacy
request makes.

Why not aiohttp's client, which the passthrough and the callbacks use: the legacy dialects need
one thing from it, a request to one known origin and its whole answer, and under callgrind one
aiohttp client call costs about 314k instructions here where this exchange costs about 20k
(``python -m tests.bench.clientcost``; docs/performance.md). That difference is a third of the
gateway's work per fetch. Parsing, the part worth not writing, is httptools (llhttp, the parser
of Node.js); TLS and sockets are the event loop's.

What it does and nothing more: keep-alive connections reused most-recent first and closed after
``idle_timeout``; at most ``max_connections`` open, later calls wait for one; a request head and
body written in one go; answers with Content-Length, chunked or ended by close, gzip or deflate
decoded, bounded by ``max_body`` after decoding; interim (1xx) answers skipped, as HTTP/1.1
requires of a client; the head of an answer bounded in size and header count. HEAD is refused:
an answer to it carries a Content-Length but no body, which the parser cannot be told, so it
would wait for a body that never comes. Every failure says whether the request can have
reached upstream, which is what the retry rules (:mod:`gateway.upstream.retry`) turn on:
:class:`Unreachable` (nothing was sent), :class:`TimedOut`, :class:`Broken`, :class:`TooLarge`.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

# The most bytes an answer's head may take (status line and headers, interim answers before it
# included) and the most header lines it may have: without them a malicious or broken upstream
# could stream headers until the deadline, all kept in memory.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100


class TransportError(Exception):
    """One exchange failed. ``status`` and ``started`` (loop time) are set when the answer's
    status line and headers had arrived."""

    status: int | None = None
    started: float | None = None


class Unreachable(TransportError):
    """No connection could be had: upstream saw nothing of the request."""


class TimedOut(TransportError):
    """No complete answer in time; the request may have reached upstream."""


class Broken(TransportError):
    """The connection or the answer broke; the request may have reached upstream."""


class TooLarge(TransportError):
    """The answer's body exceeds the maximum."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated header's values joined with ", "
    body: bytes
    started: float  # loop time the status line and headers were complete


class _Exchange:
    """What one connection is receiving for the request in flight."""

    __slots__ = (
        "chunks",
        "deadline",
        "decoder",
        "done",
        "head_bytes",
        "header_count",
        "headers",
        "interim",
        "limit",
        "read_timeout",
        "size",
        "started",
        "waiter",
    )

    def __init__(
        self,
        waiter: asyncio.Future[Answer],
        limit: int,
        deadline: float,
        read_timeout: float | None,
    ) -> None:
        self.waiter = waiter
        self.limit = limit
        self.deadline = deadline
        self.read_timeout = read_timeout
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.size = 0
        self.decoder: zlib._Decompress | None = None
        self.started = 0.0
        self.done = False
        self.head_bytes = 0  # bytes received before the final answer's head was complete
        self.header_count = 0
        self.interim = False  # the answer being parsed is a 1xx


class _Connection(asyncio.Protocol):
    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._exchange: _Exchange | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.last_active = self._loop.time()
        self.closed = False

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.last_active = self._loop.time()
        if self._exchange is None:
            # Bytes with no request in flight: nothing this connection says can be trusted.
            self.close()
            return
        ex = self._exchange
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            # httptools wraps what a callback raised; that is the precise failure.
            cause = exc.__context__
            self._fail(cause if isinstance(cause, TransportError) else Broken("unparseable answer"))
            return
        if not ex.started and not ex.done:
            ex.head_bytes += len(data)
            if ex.head_bytes > MAX_HEAD_BYTES:
                self._fail(Broken("answer head larger than allowed"))

    def eof_received(self) -> bool:
        return False  # close; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        ex = self._exchange
        if ex is None or ex.done:
            return
        if exc is None and ex.started and not self._framed():
            # No Content-Length, not chunked: the body is everything up to the close. Only an
            # orderly close (exc None) ends it: after a reset the body may be cut short, and a
            # truncated answer must not pass for a whole one.
            try:
                self._complete(reusable=False)
            except TransportError as err:
                self._fail(err)
            return
        self._fail(Broken("connection closed before the answer was complete"))

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        ex = self._exchange
        assert ex is not None
        ex.header_count += 1
        if ex.header_count > MAX_HEADERS:
            raise Broken("answer with too many headers")
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        ex.headers[key] = f"{ex.headers[key]}, {text}" if key in ex.headers else text

    def on_headers_complete(self) -> None:
        ex = self._exchange
        assert ex is not None
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                raise Broken("upstream switched protocols")
            # 100 Continue, 103 Early Hints...: not the answer; the final one follows.
            ex.interim = True
            return
        ex.started = self._loop.time()
        length = ex.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > ex.limit:
            raise TooLarge("declared larger than allowed")  # dropped unread
        coding = ex.headers.get("content-encoding", "identity").strip().lower()
        if coding == "gzip":
            ex.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            ex.decoder = zlib.decompressobj()
        elif coding != "identity":
            raise Broken(f"answer in an encoding not asked for: {coding!r}")

    def on_body(self, body: bytes) -> None:
        ex = self._exchange
        assert ex is not None
        if ex.decoder is not None:
            try:
                # At most one byte past the limit is ever inflated: a compressed bomb is cut off
                # without being expanded.
                body = ex.decoder.decompress(body, ex.limit - ex.size + 1)
            except zlib.error:
                raise Broken("undecodable compressed answer") from None
            if ex.decoder.unconsumed_tail:
                raise TooLarge("larger than allowed")
        ex.size += len(body)
        if ex.size > ex.limit:
            raise TooLarge("larger than allowed")
        ex.chunks.append(body)

    def on_message_complete(self) -> None:
        ex = self._exchange
        if ex is not None and ex.interim:
            ex.interim = False
            ex.headers = {}
            ex.header_count = 0
            return
        self._complete(reusable=self._parser.should_keep_alive())

    # -- the pool's side

    def send(self, exchange: _Exchange, data: bytes) -> None:
        self._exchange = exchange
        self.last_active = self._loop.time()  # the read timeout counts from here
        assert self.transport is not None
        self.transport.write(data)
        # One timer for the whole exchange, moved on only while a slow answer keeps arriving.
        self._timer = self._loop.call_at(self._due(exchange), self._on_timer)

    def abandon(self, exchange: _Exchange) -> None:
        """The caller stopped waiting for ``exchange``. If it is unfinished (timeout,
        cancellation) its answer may still arrive, so the connection cannot carry another
        request. A finished one may already have passed the connection on: leave that be."""
        if self._exchange is exchange and not exchange.done:
            exchange.done = True
            self.close()

    def _due(self, ex: _Exchange) -> float:
        if ex.read_timeout is None:
            return ex.deadline
        return min(ex.deadline, self.last_active + ex.read_timeout)

    def _on_timer(self) -> None:
        self._timer = None
        ex = self._exchange
        if ex is None or ex.done:
            return
        when = self._due(ex)
        if self._loop.time() < when:
            self._timer = self._loop.call_at(when, self._on_timer)
            return
        self._fail(TimedOut("no complete answer in time"))

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self._stop_timer()
        if not self.closed:
            self.closed = True
            self._pool.forget(self)
            if self.transport is not None:
                self.transport.close()

    def _framed(self) -> bool:
        ex = self._exchange
        assert ex is not None
        return "content-length" in ex.headers or "chunked" in ex.headers.get(
            "transfer-encoding", ""
        ).lower()

    def _complete(self, *, reusable: bool) -> None:
        ex = self._exchange
        assert ex is not None
        if ex.decoder is not None:
            tail = ex.decoder.flush()
            ex.size += len(tail)
            if ex.size > ex.limit:
                raise TooLarge("larger than allowed")
            ex.chunks.append(tail)
        ex.done = True
        self._exchange = None
        self._stop_timer()
        body = ex.chunks[0] if len(ex.chunks) == 1 else b"".join(ex.chunks)
        answer = Answer(self._parser.get_status_code(), ex.headers, body, ex.started)
        if not ex.waiter.done():
            ex.waiter.set_result(answer)
        if reusable and not self.closed:
            self._pool.release(self)
        else:
            self.close()

    def _fail(self, exc: TransportError) -> None:
        ex = self._exchange
        self.close()
        if ex is not None and not ex.done:
            ex.done = True
            if ex.started:
                exc.status, exc.started = self._parser.get_status_code(), ex.started
            if not ex.waiter.done():
                ex.waiter.set_exception(exc)


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
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
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
        exchange = _Exchange(waiter, max_body, deadline, read_timeout)
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

    async def _acquire(self, deadline: float, connect_timeout: float) -> _Connection:
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

    async def _connect(self, timeout: float) -> _Connection:
        if timeout <= 0:
            raise Unreachable("no time left to connect")
        self._connecting += 1
        try:
            async with asyncio.timeout(timeout):
                _, conn = await self.loop.create_connection(
                    lambda: _Connection(self), self._host, self._port, ssl=self._ssl,
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

    def release(self, conn: _Connection) -> None:
        if self._closed:
            conn.close()
            return
        self._idle.append(conn)
        self._wake()
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self._idle_timeout, self._sweep)

    def forget(self, conn: _Connection) -> None:
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
