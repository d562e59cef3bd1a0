"""One keep-alive connection to upstream and the exchange in flight on it: the request written,
the answer parsed by httptools (Content-Length, chunked or ended by close; gzip or deflate
decoded; bounded after decoding; interim (1xx) answers skipped, as HTTP/1.1 requires of a
client; the head of an answer bounded in size and header count), one timer per exchange. The
pool of such connections is :mod:`gateway.upstream.transport` (which refuses HEAD: an answer to
it carries a Content-Length but no body, which the parser cannot be told, so it would wait for a
body that never comes).

Every failure says whether the request can have reached upstream, which is what the retry rules
(:mod:`gateway.upstream.retry`) turn on: :class:`Unreachable` (nothing was sent),
:class:`TimedOut`, :class:`Broken`, :class:`TooLarge`.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import Protocol

import httptools

# The most bytes an answer's head may take (status line and headers, interim answers before it
# included) and the most header lines it may have: without them a malicious or broken upstream
# could stream headers until the deadline, all kept in memory.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100


class ConnectionOwner(Protocol):
    """What a connection needs of its pool: the loop, and where to go when done."""

    loop: asyncio.AbstractEventLoop

    def release(self, conn: Connection) -> None: ...

    def forget(self, conn: Connection) -> None: ...


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


class Exchange:
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


class Connection(asyncio.Protocol):
    def __init__(self, pool: ConnectionOwner) -> None:
        self._pool = pool
        self._loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._exchange: Exchange | None = None
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

    def send(self, exchange: Exchange, data: bytes) -> None:
        self._exchange = exchange
        self.last_active = self._loop.time()  # the read timeout counts from here
        assert self.transport is not None
        self.transport.write(data)
        # One timer for the whole exchange, moved on only while a slow answer keeps arriving.
        self._timer = self._loop.call_at(self._due(exchange), self._on_timer)

    def abandon(self, exchange: Exchange) -> None:
        """The caller stopped waiting for ``exchange``. If it is unfinished (timeout,
        cancellation) its answer may still arrive, so the connection cannot carry another
        request. A finished one may already have passed the connection on: leave that be."""
        if self._exchange is exchange and not exchange.done:
            exchange.done = True
            self.close()

    def _due(self, ex: Exchange) -> float:
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
