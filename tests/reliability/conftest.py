"""Fixtures for the reliability tests: a faulty upstream, a fast retry policy, fd counting."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.client_limits import LimitedSite, handler_args
from gateway.config import Settings
from gateway.model import Credentials
from gateway.paging import Paginator
from gateway.sandbox.app import create_sandbox_app
from gateway.upstream.http import UpstreamClient
from gateway.upstream.messages import MessagesUpstream
from gateway.upstream.retry import RetryPolicy
from tests.reliability.faulty_upstream import FaultyUpstream
from tests.support.auth import basic_header
from tests.support.rawhttp import split_answer

ACCOUNT = "AC" + "0" * 32
CREDS = Credentials(ACCOUNT, "secret-auth-token-0123")

# Small budgets keep every fault test well under a second or two.
FAST = RetryPolicy(
    retries=2,
    backoff_base=0.01,
    backoff_max=0.05,
    retry_after_max=2.0,
    budget=1.5,
    connect_timeout=0.3,
    read_timeout=0.5,
    max_response_bytes=256 * 1024,
)


async def settle() -> None:
    """Let closed transports finish closing (they do so on a later loop iteration)."""
    for _ in range(5):
        await asyncio.sleep(0.01)


@dataclass
class Harness:
    upstream: FaultyUpstream
    client: UpstreamClient
    messages: MessagesUpstream
    sleeps: list[float] = field(default_factory=list)


@pytest.fixture
async def faulty() -> AsyncIterator[FaultyUpstream]:
    async with FaultyUpstream() as upstream:
        yield upstream


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness_factory() -> AsyncIterator[HarnessFactory]:
    """Build an upstream client against a faulty upstream; ``on_sleep`` runs at each backoff."""
    opened: list[Harness] = []

    async def make(
        upstream: FaultyUpstream,
        policy: RetryPolicy = FAST,
        base_url: str | None = None,
        on_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> Harness:
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if on_sleep is not None:
                await on_sleep(seconds)
            await asyncio.sleep(seconds)

        client = UpstreamClient(
            base_url or upstream.url, policy, sleep=sleep, rng=random.Random(7)
        )
        paginator = Paginator(Settings(total_mode="off"))
        h = Harness(upstream, client, MessagesUpstream(client, paginator), sleeps)
        opened.append(h)
        return h

    yield make
    for h in opened:
        await h.client.close()


@pytest.fixture
async def harness(faulty: FaultyUpstream, harness_factory: HarnessFactory) -> Harness:
    return await harness_factory(faulty)


# --- the gateway served with its client limits, and raw HTTP -----------------------------------


@dataclass
class Served:
    runner: web.AppRunner
    site: LimitedSite
    app: web.Application
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


ServeGateway = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve_gateway() -> AsyncIterator[ServeGateway]:
    """Start the gateway on an ephemeral port the way server.py does: aiohttp's header limits
    and the LimitedSite (connection cap, slow-client timeout)."""
    started: list[web.AppRunner] = []

    async def start(settings: Settings, upstream_url: str) -> Served:
        app = create_app(settings, upstream_url)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5,
                               **handler_args(settings))
        await runner.setup()
        started.append(runner)
        site = LimitedSite(runner, "127.0.0.1", 0, settings)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        return Served(runner, site, app, "127.0.0.1", server.sockets[0].getsockname()[1])

    yield start
    for runner in started:
        await runner.cleanup()


@pytest.fixture
async def sandbox(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> TestServer:
    return await aiohttp_server(create_sandbox_app(tick=0))


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def raw_http(host: str, port: int, data: bytes, timeout: float = 5.0) -> RawResponse | None:
    """Send bytes as they are and read the answer until the server closes; None when the server
    closed without answering."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), timeout)
    except (ConnectionResetError, BrokenPipeError):
        raw = b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    if not raw:
        return None
    status, headers, body = split_answer(raw)
    return RawResponse(status, headers, body)


def basic(user: str = ACCOUNT, password: str = CREDS.password) -> str:
    return basic_header(user, password)
