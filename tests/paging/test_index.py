"""The paging index's machinery (issue 18): walk safety against an upstream whose cursor chain
loops, replicas sharing one index through the store, the local fallback when the store fails,
the per-account read cap, and counts that outlive the request."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.model import ApiError, ListFilter, ListQuery, Message
from gateway.paging import Paginator
from gateway.state.base import StoreUnavailable
from gateway.state.memory import MemoryStore
from gateway.state.redis import RedisStore
from gateway.upstream.deadline import request_deadline
from tests.paging.conftest import ACCOUNT_A, FakeUpstream, make_message
from tests.sms2010.conftest import ACCOUNT, AUTH, BASE_2008
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # a fixture, used by name


def settings(**changes: Any) -> Settings:
    changes.setdefault("paging_account_rps", 1_000_000)
    return dataclasses.replace(Settings(), **changes)


CALLS = web.AppKey("calls", list)


def looping_upstream() -> web.Application:
    """A Messages list whose next_page_uri always names the same page (an OpenAPI mock does
    this, or a bug): followed blindly, it never ends."""
    calls: list[str | None] = []

    async def messages(request: web.Request) -> web.Response:
        calls.append(request.query.get("PageToken"))
        message = {
            "sid": "SM" + "0" * 32, "account_sid": ACCOUNT, "to": "+14155550100",
            "from": "+15005550006", "body": "again", "status": "delivered",
            "direction": "outbound-api", "date_created": "Mon, 01 Jan 2024 00:00:00 +0000",
            "date_sent": "Mon, 01 Jan 2024 00:00:00 +0000", "api_version": "2010-04-01",
            "num_segments": "1",
        }
        uri = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json?PageSize=50&PageToken=PAsame"
        return web.json_response({"messages": [message], "next_page_uri": uri, "page": 0})

    app = web.Application()
    app[CALLS] = calls
    app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    return app


async def test_a_looping_next_page_uri_is_cut_within_a_second(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    upstream = await aiohttp_server(looping_upstream())
    gateway = await aiohttp_client(create_app(Settings(), upstream_url=str(upstream.make_url(""))))
    for page in ("0", "40"):
        started = time.monotonic()
        resp = await gateway.get(BASE_2008, params={"Page": page}, headers=AUTH)
        elapsed = time.monotonic() - started
        body = await resp.text()
        assert resp.status == 502, body
        assert "<Code>20502</Code>" in body and "<RestException>" in body
        assert elapsed < 1.0
    await asyncio.sleep(0.05)  # the background count meets the loop too, and stops
    calls = upstream.app[CALLS]
    assert len(calls) <= 10, calls  # not thousands
    assert calls.count("PAsame") <= 6


class FailingStore(MemoryStore):
    """A state store that is down: every operation raises StoreUnavailable."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("kind", "__class__", "__dict__") or name.startswith("_"):
            return super().__getattribute__(name)

        async def down(*_a: object, **_k: object) -> None:
            raise StoreUnavailable("store down (test)")

        return down


async def test_pages_are_served_from_local_state_when_the_store_fails() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(2500)))
    paginator = Paginator(settings(), store=FailingStore())
    for number in (0, 49, 20):
        page = await paginator.page(ACCOUNT_A, ListQuery(page=number, page_size=50), upstream.fetch)
        assert [m.sid for m in page.messages] == [
            m.sid for m in upstream.messages[number * 50 : number * 50 + 50]
        ]
        assert (page.total, page.total_is_exact) == (2500, True)
    assert paginator.stats.store_fallbacks >= 1
    await paginator.close()


async def test_replicas_share_one_index_and_count_once() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(6000)))
    store = MemoryStore()
    a = Paginator(settings(), store=store)
    b = Paginator(settings(), store=store)
    first = await a.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert first.total == 6000
    upstream.add(make_message(90_000), make_message(90_001))
    upstream.calls.clear()
    # Replica b has never seen the list: the head (which counts the two arrivals) and one
    # read from a's checkpoint, now at offset 5002.
    deep = await b.page(ACCOUNT_A, ListQuery(page=101, page_size=50), upstream.fetch)
    assert deep.upstream_requests == 2 and len(upstream.calls) == 2
    assert [m.sid for m in deep.messages] == [m.sid for m in upstream.messages[5050:5100]]
    # Page 100 (offsets 5000..5049) starts before that checkpoint: one read from the one
    # before (checkpoints are at most 949 apart, so a page of 50 is never two reads).
    straddling = await b.page(ACCOUNT_A, ListQuery(page=100, page_size=50), upstream.fetch)
    assert straddling.upstream_requests == 2
    assert [m.sid for m in straddling.messages] == [m.sid for m in upstream.messages[5000:5050]]
    assert (deep.total, deep.total_is_exact) == (6002, True)
    assert "count" not in b.stats.reads and a.stats.reads["count"] == 6
    await a.close()
    await b.close()


async def test_a_count_on_another_replica_is_waited_for_not_repeated() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(5000)))

    async def slow(flt: ListFilter, size: int, token: str | None) -> tuple[Sequence[Message], str | None]:
        await asyncio.sleep(0.01)
        return await upstream.fetch(flt, size, token)

    store = MemoryStore()
    a = Paginator(settings(), store=store)
    b = Paginator(settings(), store=store)
    pa, pb = await asyncio.gather(
        a.page(ACCOUNT_A, ListQuery(page=0, page_size=50), slow),
        b.page(ACCOUNT_A, ListQuery(page=99, page_size=50), slow),
    )
    assert pa.total == pb.total == 5000
    assert [m.sid for m in pb.messages] == [m.sid for m in upstream.messages[4950:]]
    counts = a.stats.reads.get("count", 0) + b.stats.reads.get("count", 0)
    assert counts == 5  # one count over 4000 in reads of 949, by whichever replica claimed it
    await a.close()
    await b.close()


async def test_a_count_outlives_a_request_that_does_not_wait() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(5000)))

    async def slow(flt: ListFilter, size: int, token: str | None) -> tuple[Sequence[Message], str | None]:
        await asyncio.sleep(0.01)
        return await upstream.fetch(flt, size, token)

    paginator = Paginator(settings(paging_wait=0.0))
    first = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), slow)
    # Provisional and high: twice the 1000 counted so far.
    assert (first.total, first.total_is_exact, first.has_next) == (2000, False, True)
    for _ in range(200):
        if not paginator.counter.busy:
            break
        await asyncio.sleep(0.01)
    later = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), slow)
    assert (later.total, later.total_is_exact, later.upstream_requests) == (5000, True, 1)
    assert paginator.stats.reads["count"] == 5  # the count was not started over
    await paginator.close()


async def test_reads_per_account_per_second_are_capped() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(100)))
    paginator = Paginator(settings(paging_account_rps=3, total_mode="off"))
    started = time.monotonic()
    for _ in range(4):
        await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=10), upstream.fetch)
    assert paginator.stats.rate_waits >= 1  # the fourth read waited for the next second
    assert time.monotonic() - started > 0.0
    assert len(upstream.calls) == 4


def test_the_index_keeps_no_phone_numbers() -> None:
    from gateway.cursor_cache import list_prefix

    prefix = list_prefix((ACCOUNT_A, ("+14155550100", "", "", "", "")))
    assert "4155550100" not in prefix and prefix.startswith(f"pg:{ACCOUNT_A}:")




async def test_replicas_share_the_index_through_redis(redis_server: RedisServer) -> None:
    # Two gateway processes' worth of state: one Redis server, two clients, two paginators.
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(4200)))
    prefix = f"paging-{uuid.uuid4().hex}:"
    store_a = RedisStore(redis_server.url, prefix=prefix, timeout=2.0)
    store_b = RedisStore(redis_server.url, prefix=prefix, timeout=2.0)
    a = Paginator(settings(), store=store_a)
    b = Paginator(settings(), store=store_b)
    try:
        first = await a.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
        assert (first.total, first.total_is_exact) == (4200, True)
        upstream.add(make_message(90_000))
        last = await b.page(ACCOUNT_A, ListQuery(page=84, page_size=50), upstream.fetch)
        assert [m.sid for m in last.messages] == [m.sid for m in upstream.messages[4200:]]
        assert (last.total, last.upstream_requests) == (4201, 2)
        assert "count" not in b.stats.reads
    finally:
        await a.close()
        await b.close()
        await store_a.close()
        await store_b.close()


async def test_a_deep_page_the_count_cannot_reach_in_time_is_a_quick_503() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(40_000)))

    async def slow(flt: ListFilter, size: int, token: str | None) -> tuple[Sequence[Message], str | None]:
        await asyncio.sleep(0.1)  # a count of 40 reads: about 4 s
        return await upstream.fetch(flt, size, token)

    paginator = Paginator(settings())
    started = time.monotonic()
    with pytest.raises(ApiError) as err, request_deadline(3.0):
        await paginator.page(ACCOUNT_A, ListQuery(page=780, page_size=50), slow)
    # Within the request's budget, with when to come back: not a 504, not a wrong page.
    assert time.monotonic() - started < 3.0
    assert (err.value.status, err.value.code) == (503, 20503)
    assert int(err.value.headers["Retry-After"]) >= 1
    assert paginator.counter.busy  # the count goes on for the retry
    await paginator.close()


async def test_a_provisional_total_extrapolates_to_the_oldest_day() -> None:
    # 30 days of even traffic; the count is slow (about 3 s), the request does not wait: once
    # the count has run a second, the provisional total is its pace extrapolated down to the
    # list's oldest day (found by DateSent< probes), doubled: high, not a wild guess.
    upstream = FakeUpstream()
    upstream.add(*(make_message(i * 130) for i in range(20_000)))  # ~30 days

    async def slow(flt: ListFilter, size: int, token: str | None) -> tuple[Sequence[Message], str | None]:
        await asyncio.sleep(0.15 if size > 1 else 0.0)
        return await upstream.fetch(flt, size, token)

    # One walk (no segments): the estimate is what is under test.
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=1))
    key = (ACCOUNT_A, ListFilter().cache_key())
    first = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), slow)
    assert (first.total, first.total_is_exact) == (2000, False)  # no oldest day yet
    while True:
        await asyncio.sleep(0.1)
        page = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), slow)
        assert not page.total_is_exact, "the count ended before the estimate came"
        if (await paginator.shared.snapshot(key)).oldest is not None:
            break
    page = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), slow)
    assert not page.total_is_exact and page.total is not None
    assert 20_000 <= page.total <= 5 * 20_000
    assert paginator.stats.reads["probe"] <= 16  # a binary search over days since 2008
    await paginator.close()


async def test_a_deep_page_that_waited_for_the_count_has_the_exact_total() -> None:
    # No wait for the total (a provisional one at once), but a deep page waits for the count
    # to reach it; the count is done while the page is read (a slow read), and the page says
    # so.
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(8000)))

    async def slow(flt: ListFilter, size: int, token: str | None) -> tuple[Sequence[Message], str | None]:
        # The count's reads (949, and the head's 1000) are quick; the page's own read is not.
        await asyncio.sleep(0.01 if size in (949, 1000, 50) else 0.3)
        return await upstream.fetch(flt, size, token)

    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=1))
    with request_deadline(10.0):
        deep = await paginator.page(ACCOUNT_A, ListQuery(page=158, page_size=50), slow)
    assert [m.sid for m in deep.messages] == [m.sid for m in upstream.messages[7900:7950]]
    assert (deep.total, deep.total_is_exact) == (8000, True)
    await paginator.close()
