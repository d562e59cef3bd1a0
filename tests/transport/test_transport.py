"""The upstream HTTP/1.1 transport (gateway/upstream/transport.py) against real servers: how
connections are kept, reused, refused and closed, how answers are framed, decoded and bounded,
what the timeouts do, and that a request head cannot be split. Every test runs on the default
loop and on uvloop, which production uses.

Bodies of known size, chunked and gzip bodies, their bounding and the observation of attempts
are in tests/upstream/test_http.py; the fault matrix through the retry rules is in
tests/reliability/test_upstream_faults.py."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Iterator, Sequence

import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.model import Credentials
from gateway.upstream.http import UpstreamClient
from gateway.upstream.retry import RetryPolicy
from gateway.upstream.transport import Answer, Broken, Pool, TimedOut, TooLarge, Unreachable
from tests.transport.conftest import MakePool
from tests.transport.raw_upstream import Connection, RawServer, Request, answer

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
MakeServer = Callable[..., Awaitable[TestServer]]

CREDS = Credentials("AC" + "1" * 32, "token")


@pytest.fixture(autouse=True)
async def _on_the_loop_asked_for(request: pytest.FixtureRequest) -> None:
    # tests/transport/conftest.py asks for both loops; fail loudly should that stop working.
    wanted = "uvloop" if "[uvloop" in request.node.name else "asyncio"
    assert wanted in request.node.name, request.node.name
    assert type(asyncio.get_running_loop()).__module__.split(".")[0] == wanted




def call(
    pool: Pool,
    target: str = "/",
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    timeout: float = 2.0,
    connect_timeout: float = 1.0,
    read_timeout: float | None = None,
    max_body: int = 1 << 20,
) -> Awaitable[Answer]:
    return pool.request(
        method, target, headers, body,
        deadline=pool.loop.time() + timeout,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_body=max_body,
    )


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait for a state that no event announces."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.002)


def client_noticed_close(pool: Pool) -> Callable[[], bool]:
    # A peer's close reaches the pool on a later loop pass, and nothing public says when;
    # until then the pool cannot know the connection is gone.
    return lambda: not pool._open


def waiting(pool: Pool, calls: int) -> Callable[[], bool]:
    """``calls`` calls are queued for a connection (the pool's own queue: nothing public)."""
    return lambda: len(pool._waiters) == calls


async def ok(writer: Writer) -> bool:
    writer.write(answer())
    return True


async def hold(gate: asyncio.Event, writer: Writer) -> bool:
    await gate.wait()
    return await ok(writer)


# -- keep-alive and reuse ---------------------------------------------------------------------


async def test_sequential_calls_go_over_one_connection(pools: MakePool) -> None:
    async with RawServer() as server:
        pool = pools(server.url)
        for _ in range(3):
            assert (await call(pool)).body == b"{}"
    assert len(server.connections) == 1
    assert len(server.connections[0].requests) == 3


async def test_an_answer_ended_by_the_close_is_read_whole_and_not_reused(
    pools: MakePool,
) -> None:
    big = b'{"x": "' + b"y" * 200_000 + b'"}'

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        if request.target == "/unframed":
            writer.write(answer(b"", length=False))
            for i in range(0, len(big), 64 * 1024):  # in several reads on the client's side
                writer.write(big[i:i + 64 * 1024])
                await writer.drain()
            return False
        writer.write(answer())
        return True

    async with RawServer(handler) as server:
        pool = pools(server.url)
        got = await call(pool, "/unframed")
        assert got.status == 200 and got.body == big
        assert (await call(pool, "/next")).body == b"{}"
    assert [len(c.requests) for c in server.connections] == [1, 1]


@pytest.mark.parametrize(
    ("version", "headers"),
    [("HTTP/1.1", ("Connection: close",)), ("HTTP/1.0", ())],
    ids=["connection-close", "http-1.0"],
)
async def test_an_answer_that_ends_keep_alive_is_not_reused(
    pools: MakePool, version: str, headers: tuple[str, ...]
) -> None:
    # The server leaves the connection open: only its words say not to send on it again.
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(version=version, headers=headers))
        return True

    async with RawServer(handler) as server:
        pool = pools(server.url)
        await call(pool)
        await call(pool)
    assert [len(c.requests) for c in server.connections] == [1, 1]


async def test_a_reset_during_an_answer_ended_by_the_close_is_broken(pools: MakePool) -> None:
    # Regression: a reset used to end an unframed body like an orderly close, so the part
    # that had arrived passed for the whole answer.
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(b'{"sid": "SM', length=False))
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # with SO_LINGER 0: a reset, not a FIN
        return False

    async with RawServer(handler) as server:
        with pytest.raises(Broken) as caught:
            await call(pools(server.url))
    assert caught.value.status == 200


async def test_a_stray_answer_is_never_taken_for_the_next_requests(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        n = len(server.requests)
        writer.write(answer(b'{"n": %d}' % n))
        if n == 1:
            writer.write(answer(b'{"n": "stray"}'))
        return True

    async with RawServer(handler) as server:
        pool = pools(server.url)
        assert (await call(pool)).body == b'{"n": 1}'
        assert (await call(pool)).body == b'{"n": 2}'
    assert [len(c.requests) for c in server.connections] == [1, 1]


async def idle_then(pools: MakePool, act: Callable[[Writer], bool]) -> list[Connection]:
    """Answer a first call; with its connection idle in the pool, ``act`` on that connection
    from the server's side (returning False closes it). The client must give it up, and a
    second call go over a new connection."""
    go = asyncio.Event()

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(headers=("Connection: keep-alive",)))
        if len(server.requests) > 1:
            return True
        await writer.drain()
        await go.wait()
        return act(writer)

    async with RawServer(handler) as server:
        pool = pools(server.url)
        await call(pool)
        go.set()
        await until(client_noticed_close(pool))
        assert (await call(pool)).body == b"{}"
    return server.connections


async def test_a_connection_the_server_closed_while_idle_is_not_used(pools: MakePool) -> None:
    connections = await idle_then(pools, lambda writer: False)
    assert [len(c.requests) for c in connections] == [1, 1]


async def test_a_connection_that_speaks_while_idle_is_hung_up_on(pools: MakePool) -> None:
    def speak(writer: Writer) -> bool:
        writer.write(answer(b'{"n": "stray"}'))
        return True

    connections = await idle_then(pools, speak)
    assert [len(c.requests) for c in connections] == [1, 1]
    assert connections[0].ended.is_set()  # the client hung up, not the server


async def test_an_idle_connection_is_closed_after_the_idle_timeout(pools: MakePool) -> None:
    async with RawServer() as server:
        pool = pools(server.url, idle_timeout=0.2)
        await call(pool)
        idle_since = time.monotonic()
        await asyncio.wait_for(server.connections[0].ended.wait(), 2)
        idle = time.monotonic() - idle_since
        assert (await call(pool)).status == 200
    assert 0.15 <= idle < 1.0
    assert [len(c.requests) for c in server.connections] == [1, 1]


# -- the connection limit ---------------------------------------------------------------------


async def test_with_one_connection_concurrent_calls_take_turns(pools: MakePool) -> None:
    gate = asyncio.Event()

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        return await hold(gate, writer) if request.target == "/first" else await ok(writer)

    async with RawServer(handler) as server:
        pool = pools(server.url, max_connections=1)
        first = asyncio.create_task(call(pool, "/first"))
        await server.next_request()
        second = asyncio.create_task(call(pool, "/second"))
        await until(waiting(pool, 1))  # neither a second connection nor a pipelined request
        assert len(server.connections) == 1 and len(server.requests) == 1
        gate.set()
        assert [a.status for a in await asyncio.gather(first, second)] == [200, 200]
    assert [r.target for r in server.connections[0].requests] == ["/first", "/second"]
    assert len(server.connections) == 1


async def test_waiting_for_a_connection_past_the_deadline_is_unreachable(
    pools: MakePool,
) -> None:
    gate = asyncio.Event()

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        return await hold(gate, writer)

    async with RawServer(handler) as server:
        pool = pools(server.url, max_connections=1)
        first = asyncio.create_task(call(pool, "/first"))
        await server.next_request()
        started = time.monotonic()
        with pytest.raises(Unreachable):
            await call(pool, "/second", timeout=0.2)
        assert time.monotonic() - started < 1.0
        gate.set()
        assert (await first).status == 200
    assert [r.target for r in server.requests] == ["/first"]


async def test_a_woken_waiter_that_is_cancelled_passes_the_connection_on(
    pools: MakePool,
) -> None:
    # Regression: the freed connection's wake-up went to a waiter cancelled in the same
    # instant, and the next waiter slept until its deadline beside an idle connection.
    gate = asyncio.Event()

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        return await hold(gate, writer) if request.target == "/first" else await ok(writer)

    async with RawServer(handler) as server:
        pool = pools(server.url, max_connections=1)

        async def first_then_cancel_second() -> Answer:
            got = await call(pool, "/first")
            second.cancel()  # its wake-up is set but it has not run yet
            return got

        first = asyncio.create_task(first_then_cancel_second())
        await server.next_request()
        second = asyncio.create_task(call(pool, "/second"))
        third = asyncio.create_task(call(pool, "/third", timeout=1.0))
        await until(waiting(pool, 2))
        gate.set()
        assert (await first).status == 200
        with pytest.raises(asyncio.CancelledError):
            await second
        assert (await third).status == 200
    assert [r.target for r in server.requests] == ["/first", "/third"]


# -- cancellation -----------------------------------------------------------------------------


async def test_a_cancelled_exchange_closes_its_connection(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        if request.target == "/slow":
            await reader.read()  # until the client hangs up
            return False
        return await ok(writer)

    async with RawServer(handler) as server:
        pool = pools(server.url)
        slow = asyncio.create_task(call(pool, "/slow"))
        await server.next_request()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        await asyncio.wait_for(server.connections[0].ended.wait(), 2)
        assert (await call(pool, "/next")).status == 200
    assert [[r.target for r in c.requests] for c in server.connections] == [["/slow"], ["/next"]]


async def test_a_connection_handed_on_at_once_is_not_closed_by_the_last_caller(
    pools: MakePool,
) -> None:
    # The first caller's task resumes only after a new caller took the freed connection from
    # the idle list and sent on it: its clean-up must leave that exchange alone.
    loop = asyncio.get_running_loop()
    second: list[asyncio.Task[Answer]] = []

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(request.target.encode()))
        if request.target == "/first":
            # A new caller whose first step runs after the client has read this answer and
            # before the first caller's task resumes (on the default loop; uvloop orders its
            # passes differently, and test_many_concurrent_calls... covers it there).
            loop.call_soon(lambda: second.append(asyncio.create_task(call(pool, "/second"))))
        return True

    async with RawServer(handler) as server:
        pool = pools(server.url, max_connections=1)
        assert (await call(pool, "/first")).body == b"/first"
        await until(lambda: bool(second))
        assert (await second[0]).body == b"/second"
    assert len(server.connections) == 1


async def test_many_concurrent_calls_over_a_small_pool_all_complete(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(request.target.encode()))
        return True

    async with RawServer(handler) as server:
        pool = pools(server.url, max_connections=3)
        targets = [f"/{i}" for i in range(300)]
        answers = await asyncio.gather(*(call(pool, t, timeout=5.0) for t in targets))
    assert [a.body.decode() for a in answers] == targets
    assert len(server.connections) <= 3


# -- timeouts ---------------------------------------------------------------------------------


def dripping(pieces: int, gap: float) -> Callable[[Request, Reader, Writer], Awaitable[bool]]:
    """Headers at once, then a body of ``pieces`` bytes, one every ``gap`` seconds."""

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(b"", headers=(f"Content-Length: {pieces}",), length=False))
        await writer.drain()
        for _ in range(pieces):
            try:
                async with asyncio.timeout(gap):
                    await reader.read()  # returns only when the client gives up
                return False
            except TimeoutError:
                pass
            writer.write(b"x")
            await writer.drain()
        return True

    return handler


async def test_a_slow_answer_that_keeps_coming_is_waited_for(pools: MakePool) -> None:
    async with RawServer(dripping(6, 0.08)) as server:
        started = time.monotonic()
        got = await call(pools(server.url), read_timeout=0.25, timeout=3.0)
        took = time.monotonic() - started
    assert got.body == b"xxxxxx"
    assert took > 0.25  # longer than one read timeout: the timer moved on with the data


async def test_a_silence_longer_than_the_read_timeout_times_out(pools: MakePool) -> None:
    async with RawServer(dripping(2, 0.5)) as server:
        pool = pools(server.url)
        started = time.monotonic()
        with pytest.raises(TimedOut) as caught:
            await call(pool, read_timeout=0.15, timeout=3.0)
        took = time.monotonic() - started
        await asyncio.wait_for(server.connections[0].ended.wait(), 2)
    assert 0.1 <= took < 0.45
    assert caught.value.status == 200 and caught.value.started is not None


async def test_the_deadline_caps_an_answer_that_keeps_coming(pools: MakePool) -> None:
    async with RawServer(dripping(40, 0.05)) as server:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await call(pools(server.url), read_timeout=0.2, timeout=0.3)
        took = time.monotonic() - started
    assert 0.25 <= took < 0.8


async def test_no_answer_at_all_times_out_without_a_status(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        await reader.read()
        return False

    async with RawServer(handler) as server:
        with pytest.raises(TimedOut) as caught:
            await call(pools(server.url), read_timeout=0.1)
    assert caught.value.status is None and caught.value.started is None


# -- encodings and bounds ---------------------------------------------------------------------


async def encoded(pools: MakePool, coding: str, body: bytes, max_body: int = 1 << 20) -> Answer:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(body, headers=(f"Content-Encoding: {coding}",)))
        return True

    async with RawServer(handler) as server:
        return await call(pools(server.url), max_body=max_body)


async def test_a_deflate_answer_is_decoded(pools: MakePool) -> None:
    raw = b'{"body": "' + b"hello " * 1000 + b'"}'
    assert (await encoded(pools, "deflate", zlib.compress(raw))).body == raw


@pytest.mark.parametrize(
    ("coding", "body"),
    [("br", b"\x1b\x01\x00\xf8{}"), ("gzip", b"\x1f\x8b not gzip at all"),
     ("deflate", b"not deflate at all")],
    ids=["unknown-coding", "corrupt-gzip", "corrupt-deflate"],
)
async def test_an_answer_that_cannot_be_decoded_is_broken(
    pools: MakePool, coding: str, body: bytes
) -> None:
    with pytest.raises(Broken) as caught:
        await encoded(pools, coding, body)
    assert caught.value.status == 200


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """32 MiB of zeros in about 32 KiB of gzip."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(squeeze.compress(zeros) for _ in range(32)) + squeeze.flush()


async def test_a_gzip_bomb_is_cut_off_at_the_limit_without_inflating_it(
    pools: MakePool, gzip_bomb: bytes
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            await encoded(pools, "gzip", gzip_bomb, max_body=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # inflating it all would have taken 32 MiB


# -- the request head -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["a\r\nX-Evil: 1", "a\nX-Evil: 1", "a\rX-Evil: 1", "a\r\n\r\nGET /evil HTTP/1.1", "a\x00b",
     "caf\u00e9"],
    ids=["crlf", "lf", "cr", "smuggled-request", "nul", "non-ascii"],
)
async def test_an_unsafe_header_value_is_refused_before_anything_is_sent(
    pools: MakePool, value: str
) -> None:
    async with RawServer() as server:
        pool = pools(server.url)
        await call(pool, "/before")  # a pooled connection the bad head could have gone out on
        with pytest.raises(ValueError):
            await call(pool, "/bad", headers=[("X-Note", value)])
        await call(pool, "/after")
    assert [r.target for r in server.requests] == ["/before", "/after"]
    assert all(b"evil" not in r.raw.lower() for r in server.requests)


async def test_an_unsafe_target_is_refused_before_anything_is_sent(pools: MakePool) -> None:
    async with RawServer() as server:
        pool = pools(server.url)
        with pytest.raises(ValueError):
            await call(pool, "/a HTTP/1.1\r\nX-Evil: 1\r\n\r\nGET /b")
        await call(pool, "/after")
    assert [r.target for r in server.requests] == ["/after"]


async def test_the_client_encodes_path_and_query_into_one_well_formed_request() -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(b'{"ok": true}'))
        return True

    async with RawServer(handler) as server, UpstreamClient(
        server.url, RetryPolicy(retries=0, budget=2.0)
    ) as client:
        got = await client.call(
            "GET", "/Accounts/a b/caf\u00e9\r\nX-Evil: 1", CREDS,
            params=[("To", "+1 415 555"), ("Body", "a&b=c\u00e9")],
        )
    assert got == {"ok": True}
    [request] = server.requests
    assert request.target == (
        "/Accounts/a%20b/caf%C3%A9%0D%0AX-Evil:%201?To=%2B1+415+555&Body=a%26b%3Dc%C3%A9"
    )
    assert "x-evil" not in request.headers
    assert request.raw.count(b" HTTP/1.1\r\n") == 1


async def test_host_and_base_path_go_on_every_request(pools: MakePool) -> None:
    async with RawServer() as server:
        pool = pools(server.url + "/prefix/", user_agent="tester/1")
        await call(pool, "/Messages.json?PageSize=2")
        await call(pool, "/Messages.json", method="POST")
        await call(pool, "/Messages.json", method="POST", body=b"To=%2B1")
    get, empty_post, post = server.requests
    assert get.target == "/prefix/Messages.json?PageSize=2"
    assert get.headers["host"] == f"127.0.0.1:{server.port}"
    assert get.headers["user-agent"] == "tester/1"
    assert get.headers["accept-encoding"] == "gzip, deflate"
    assert "content-length" not in get.headers
    assert empty_post.headers["content-length"] == "0"  # or the server waits for a body
    assert post.body == b"To=%2B1"


async def test_host_of_an_ipv6_upstream_is_bracketed(pools: MakePool) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = RawServer(host="::1")
        await server.__aenter__()
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        await call(pools(server.url))
    finally:
        await server.__aexit__()
    assert server.requests[0].headers["host"] == f"[::1]:{server.port}"


@pytest.mark.parametrize(
    "url", ["http://upstream.test/", "http://upstream.test:80/", "https://upstream.test:443/"]
)
async def test_a_default_port_is_left_out_of_host(url: str) -> None:
    # No server here can listen on 80 or 443: read the head the pool would send.
    head = Pool(url)._head("GET", "/x", [], None)
    assert b"\r\nHost: upstream.test\r\n" in head


async def test_answer_headers_are_lower_cased_and_repeats_joined(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(headers=("X-Twilio-Thing: a", "x-twilio-thing: b", "Retry-After: 3")))
        return True

    async with RawServer(handler) as server:
        got = await call(pools(server.url))
    assert got.headers["x-twilio-thing"] == "a, b"
    assert got.headers["retry-after"] == "3"


# -- connecting -------------------------------------------------------------------------------


@pytest.fixture
def refused_url() -> Iterator[str]:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_refused_connection_is_unreachable(pools: MakePool, refused_url: str) -> None:
    with pytest.raises(Unreachable):
        await call(pools(refused_url))


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """A listener whose accept queue is full: the kernel drops further connection attempts, so
    a connect hangs until it times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for sock in [*fillers, listener]:
            sock.close()


@pytest.mark.parametrize(("connect_timeout", "timeout"), [(0.2, 5.0), (5.0, 0.2)],
                         ids=["connect-timeout", "deadline"])
async def test_a_connect_that_hangs_is_unreachable_in_time(
    pools: MakePool, unanswered_url: str, connect_timeout: float, timeout: float
) -> None:
    started = time.monotonic()
    with pytest.raises(Unreachable):
        await call(pools(unanswered_url), connect_timeout=connect_timeout, timeout=timeout)
    assert 0.15 <= time.monotonic() - started < 1.0


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


async def tls_upstream(aiohttp_server: MakeServer, authority: trustme.CA) -> TestServer:
    async def secure(request: web.Request) -> web.Response:
        return web.json_response({"tls": request.secure})

    app = web.Application()
    app.router.add_get("/tls", secure)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return await aiohttp_server(app, ssl=context)


async def test_https_with_a_trusted_certificate(
    pools: MakePool, aiohttp_server: MakeServer, authority: trustme.CA
) -> None:
    server = await tls_upstream(aiohttp_server, authority)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    pool = pools(str(server.make_url("/")), ssl_context=trusting)
    assert server.scheme == "https"
    assert (await call(pool, "/tls")).body == b'{"tls": true}'


async def test_https_with_an_untrusted_certificate_is_unreachable(
    pools: MakePool, aiohttp_server: MakeServer, authority: trustme.CA
) -> None:
    server = await tls_upstream(aiohttp_server, authority)
    with pytest.raises(Unreachable):
        await call(pools(str(server.make_url("/"))), "/tls")


# -- closing the pool -------------------------------------------------------------------------


async def test_closing_the_pool_closes_its_connections_and_refuses_calls() -> None:
    gate = asyncio.Event()

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        return await hold(gate, writer)

    async with RawServer(handler) as server:
        pool = Pool(server.url)
        both = asyncio.gather(call(pool), call(pool))
        await server.next_request()
        await server.next_request()
        gate.set()
        await both  # two connections, both idle now
        await pool.close()
        for conn in server.connections:
            await asyncio.wait_for(conn.ended.wait(), 2)
        with pytest.raises(Unreachable):
            await call(pool)
    assert len(server.connections) == 2 and len(server.requests) == 2


async def test_closing_the_pool_fails_calls_in_flight_and_waiting() -> None:
    # Regression: a call waiting for a connection was woken by close() and opened a new
    # connection on the closed pool.
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        await reader.read()
        return False

    async with RawServer(handler) as server:
        pool = Pool(server.url, max_connections=1)
        in_flight = asyncio.create_task(call(pool, "/first"))
        await server.next_request()
        queued = asyncio.create_task(call(pool, "/second"))
        await until(waiting(pool, 1))
        await pool.close()
        with pytest.raises(Broken):
            await in_flight
        with pytest.raises(Unreachable):
            await queued
        await asyncio.wait_for(server.connections[0].ended.wait(), 2)
    assert len(server.connections) == 1 and len(server.requests) == 1


@pytest.mark.parametrize("url", ["ftp://upstream.test/", "upstream.test:80", "http:///nohost"])
async def test_only_http_and_https_base_urls(url: str) -> None:
    with pytest.raises(ValueError):
        Pool(url)
