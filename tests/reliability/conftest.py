"""Fixtures for the reliability tests: a faulty upstream, a fast retry policy, fd counting."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest

from gateway.config import Settings
from gateway.model import Credentials
from gateway.paging import Paginator
from gateway.upstream.http import UpstreamClient
from gateway.upstream.messages import MessagesUpstream
from gateway.upstream.retry import RetryPolicy
from tests.reliability.faulty_upstream import FaultyUpstream

ACCOUNT = "AC" + "0" * 32
CREDS = Credentials(ACCOUNT, "secret-auth-token-0123")

# Small budgets keep every fault test well under a second or two.
FAST = RetryPolicy(
    retries=2,
    backoff_base=0.01,
    backoff_max=0.05,
    retry_after_max=2.0,
    total_timeout=1.5,
    connect_timeout=0.3,
    read_timeout=0.5,
    max_response_bytes=256 * 1024,
)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle() -> None:
    """Let closed transports finish closing (they do so on a later loop iteration)."""
    for _ in range(5):
        await asyncio.sleep(0.01)


@dataclass
class Harness:
    upstream: FaultyUpstream
    session: aiohttp.ClientSession
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
        session = aiohttp.ClientSession()
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if on_sleep is not None:
                await on_sleep(seconds)
            await asyncio.sleep(seconds)

        client = UpstreamClient(
            session, base_url or upstream.url, policy, sleep=sleep, rng=random.Random(7)
        )
        paginator = Paginator(Settings(total_mode="off"))
        h = Harness(upstream, session, client, MessagesUpstream(client, paginator), sleeps)
        opened.append(h)
        return h

    yield make
    for h in opened:
        await h.session.close()


@pytest.fixture
async def harness(faulty: FaultyUpstream, harness_factory: HarnessFactory) -> Harness:
    return await harness_factory(faulty)
