"""One legacy request never outlives --upstream-timeout, however many upstream calls it makes:
a list whose every upstream page is slow, concurrent walks of one list, a wait for a
concurrency slot, and a handler stuck outside upstream all end within the budget plus a small
slack, as legacy 504 / 20504 (503 / 20503 for a send that was never sent)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from lxml import etree
from multidict import MultiDict

from gateway import errors, keys, request_budget
from gateway.app import create_app
from gateway.config import Settings
from gateway.dialects.sms2010 import render as sms2010_render
from gateway.dialects.v2008 import render as v2008_render
from gateway.guard import guard
from gateway.model import ApiError, Credentials
from gateway.upstream.concurrency import BoundedUpstreamClient
from gateway.upstream.deadline import remaining, request_deadline
from tests.reliability.conftest import FAST
from tests.reliability.faulty_upstream import FaultyUpstream, hang, latency
from tests.support.auth import basic_auth

ACCOUNT = "AC" + "7" * 32
CREDS = Credentials(ACCOUNT, "budget-token")
AUTH = basic_auth(ACCOUNT, CREDS.password)
LIST = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages.json"
BUDGET = 1.0
SLACK = 0.5  # budget + this: the bound every test asserts
# Every upstream page answers in 0.3 s (within each attempt's read timeout): only the sum of
# several is too slow.
PAGE_DELAY = 0.3
SETTINGS = Settings(
    upstream_timeout=BUDGET,
    upstream_read_timeout=0.8,
    upstream_connect_timeout=0.2,
    upstream_backoff_base=0.01,
    upstream_backoff_max=0.02,
    upstream_page_size=2,
    total_mode="exact",
)
Client = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def slow_list() -> AsyncIterator[FaultyUpstream]:
    upstream = FaultyUpstream()
    await upstream.start()
    for i in range(20):
        upstream.store.create(ACCOUNT, MultiDict(To="+14155550100", From="+14155550000",
                                                 Body=f"m{i}"))
    upstream.randomly(random.Random(1), 1.0, [latency(PAGE_DELAY)])
    # Pages of at most 2 messages: reaching a deep page is a walk of many slow reads (the
    # paging index's count runs in the background and cannot help within one second).
    upstream.store.max_page_size = 2
    yield upstream
    await upstream.close()


def rest_exception(body: bytes) -> dict[str, str]:
    return dict(json.loads(body)["TwilioResponse"]["RestException"])


async def timed_get(client: TestClient, params: dict[str, str]) -> tuple[int, bytes, float]:
    started = time.monotonic()
    resp = await client.get(LIST, params=params, headers=AUTH)
    return resp.status, await resp.read(), time.monotonic() - started


async def test_a_list_of_slow_upstream_pages_ends_within_the_budget(
    aiohttp_client: Client, slow_list: FaultyUpstream
) -> None:
    client = await aiohttp_client(create_app(SETTINGS, slow_list.url))
    # Page 9 of 2 at chunk 2: ten upstream pages from the head, 3 s in all, each within budget.
    status, body, took = await timed_get(client, {"Page": "9", "num": "2"})
    assert took < BUDGET + SLACK, took
    assert status == 504
    err = rest_exception(body)
    assert err["Code"] == str(errors.UPSTREAM_TIMEOUT) and err["Status"] == "504"
    # The request's own reads, and the background count's and its oldest-day probe's running
    # alongside (they outlive the request and are not bound by its budget): each at most one
    # read per PAGE_DELAY.
    assert slow_list.count("GET") <= 3 * (BUDGET / PAGE_DELAY + 1)
    # With a budget that fits the walk, a deep page that takes longer than BUDGET is served.
    roomy = await aiohttp_client(
        create_app(dataclasses.replace(SETTINGS, upstream_timeout=10.0), slow_list.url)
    )
    status, body, took = await timed_get(roomy, {"Page": "4", "num": "2"})
    assert status == 200 and took > BUDGET


async def test_concurrent_walks_of_one_list_all_end_within_the_budget(
    aiohttp_client: Client, slow_list: FaultyUpstream
) -> None:
    # Three cold walks of one list at once (no request waits for another since issue 18).
    client = await aiohttp_client(create_app(SETTINGS, slow_list.url))
    results = await asyncio.gather(
        *(timed_get(client, {"Page": str(page), "num": "2"}) for page in (9, 8, 7))
    )
    for status, body, took in results:
        assert took < BUDGET + SLACK, took
        assert status == 504 and rest_exception(body)["Code"] == str(errors.UPSTREAM_TIMEOUT)


async def test_waiting_for_a_concurrency_slot_counts_against_the_budget() -> None:
    async with FaultyUpstream() as upstream, BoundedUpstreamClient(
        upstream.url, FAST, max_concurrency=1, max_wait=30.0
    ) as client:
        upstream.enqueue(hang(), method="GET")
        path = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        holder = asyncio.create_task(client.call("GET", path, CREDS))
        while not upstream.count("GET"):
            await asyncio.sleep(0.01)
        for method, status, code in (
            ("GET", 504, errors.UPSTREAM_TIMEOUT),
            # A send that never got a slot was never sent: safe to retry, and it says so.
            ("POST", 503, errors.UPSTREAM_UNAVAILABLE),
        ):
            started = time.monotonic()
            with request_deadline(0.3), pytest.raises(ApiError) as caught:
                await client.call(method, path, CREDS, form=[("To", "+1"), ("Body", "x")])
            assert time.monotonic() - started < 0.3 + SLACK
            assert (caught.value.status, caught.value.code) == (status, code)
        assert upstream.count("POST") == 0
        await holder  # its hang ends with the read timeout; the retry is answered


async def test_a_spent_budget_sends_nothing_upstream() -> None:
    async with FaultyUpstream() as upstream, BoundedUpstreamClient(
        upstream.url, FAST, max_concurrency=1, max_wait=30.0
    ) as client:
        path = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        with request_deadline(0.0):
            assert (remaining() or 0) <= 0
            with pytest.raises(ApiError) as caught:
                await client.call("POST", path, CREDS, form=[("To", "+1"), ("Body", "x")])
        assert (caught.value.status, caught.value.code) == (503, errors.UPSTREAM_UNAVAILABLE)
        assert upstream.requests == []


async def test_a_nested_deadline_never_extends_the_outer_one() -> None:
    with request_deadline(0.5) as outer, request_deadline(10.0) as inner:
        assert inner == outer
        left = remaining()
        assert left is not None and 0 < left <= 0.5
    assert remaining() is None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _laid_out_like_the_gateway(handler: Handler, seconds: float) -> web.Application:
    """``handler`` behind the gateway's routing: the guard at the root, each legacy prefix a
    sub-application with its error renderer and budget, the passthrough's catch-all exempt."""

    async def passthrough(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    v2008 = web.Application(middlewares=[request_budget.make_middleware(seconds)])
    v2008[keys.ERROR_RENDERER] = v2008_render.render_error
    v2008.router.add_route("*", "/{tail:.*}", handler)
    v2010 = web.Application(middlewares=[request_budget.make_middleware(seconds)])
    v2010[keys.ERROR_RENDERER] = sms2010_render.render_error
    v2010.router.add_route("*", "/Accounts/{sid}/SMS/{tail:.*}", handler)
    v2010.router.add_route("*", "/{tail:.*}", request_budget.exempt(passthrough))
    app = web.Application(middlewares=[guard])
    app.add_subapp("/2008-08-01", v2008)
    app.add_subapp("/2010-04-01", v2010)
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/2008-08-01/Accounts/x/SMS/Messages", errors.UPSTREAM_TIMEOUT),
        ("POST", "/2008-08-01/Accounts/x/SMS/Messages", errors.OUTCOME_UNKNOWN),
        ("GET", "/2010-04-01/Accounts/x/SMS/Messages.json", errors.UPSTREAM_TIMEOUT),
    ],
)
async def test_a_handler_stuck_outside_upstream_is_cut_off_after_the_deadline(
    aiohttp_client: Client, method: str, path: str, code: int
) -> None:
    async def stuck(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    client = await aiohttp_client(_laid_out_like_the_gateway(stuck, 0.2))
    started = time.monotonic()
    resp = await client.request(method, path)
    assert time.monotonic() - started < 0.2 + request_budget.GRACE + SLACK
    assert resp.status == 504
    raw = await resp.read()
    if path.endswith(".json"):
        assert json.loads(raw)["code"] == code
    else:
        assert etree.fromstring(raw).findtext("RestException/Code") == str(code)


async def test_paths_outside_the_legacy_dialects_are_not_cut_off(aiohttp_client: Client) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.4)
        return web.Response(text="done")

    client = await aiohttp_client(_laid_out_like_the_gateway(slow, 0.1))
    for path in ("/callbacks/status/x", "/2010-04-01/Accounts/x/Messages.json"):
        resp = await client.post(path)
        assert resp.status == 200 and await resp.text() == "done"
