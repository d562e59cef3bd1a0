"""The per-process bound on concurrent upstream calls."""

from __future__ import annotations

import asyncio

import pytest

from gateway.model import ApiError, Credentials
from gateway.upstream.concurrency import BoundedUpstreamClient
from tests.ops.conftest import ACCOUNT, TOKEN, FakeUpstream

PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
CREDS = Credentials(ACCOUNT, TOKEN)


async def test_calls_beyond_the_bound_wait_then_get_503(fake_upstream: FakeUpstream) -> None:
    fake_upstream.delay = 0.5
    async with BoundedUpstreamClient(fake_upstream.url, max_concurrency=1, max_wait=0.1) as client:
        first = asyncio.create_task(client.call("GET", PATH, CREDS))
        await asyncio.wait_for(fake_upstream.arrived.wait(), 5)
        with pytest.raises(ApiError) as err:
            await client.call("GET", PATH, CREDS)
        assert (err.value.status, err.value.code) == (503, 20503)
        assert "messages" in await first
        assert len(fake_upstream.seen) == 1  # the refused call never reached upstream


async def test_waiting_calls_proceed_when_a_slot_frees(fake_upstream: FakeUpstream) -> None:
    fake_upstream.delay = 0.2
    async with BoundedUpstreamClient(fake_upstream.url, max_concurrency=1, max_wait=5) as client:
        results = await asyncio.gather(*(client.call("GET", PATH, CREDS) for _ in range(3)))
    assert len(results) == 3 and len(fake_upstream.seen) == 3
