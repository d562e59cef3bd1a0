"""Every gateway cache is on /metrics (entries, hits, misses, hit ratio) and moves with real
traffic through the sandbox; every legacy list, in both dialects, feeds
sms_gateway_upstream_requests_per_list with what it cost upstream. Scraped and parsed with
prometheus-client's own parser."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.sandbox.app import LIFECYCLE, REQUEST_LOG, create_sandbox_app
from tests.callbacks.conftest import ACCOUNT, TOKEN, LegacyApp, gateway_settings
from tests.ops.test_metrics import scrape, total, value
from tests.sms2010.conftest import AUTH, BASE_2008, BASE_2010
from tests.support.auth import basic_auth
from tests.support.sandbox_gateway import MakeGateway

Server = Callable[..., Awaitable[TestServer]]
CACHE_FAMILIES = ("entries", "hits_total", "misses_total", "hit_ratio")


def cache(text: str, name: str, family: str) -> float:
    return value(text, f"sms_gateway_cache_{family}", cache=name)


async def send(client: TestClient, base: str, to: str, body: str) -> None:
    resp = await client.post(base + ".json", data={"From": "+15005550006", "To": to,
                                                   "Body": body}, headers=AUTH)
    assert resp.status == 201, await resp.text()


def upstream_list_gets(sandbox: TestServer) -> int:
    log = sandbox.app[REQUEST_LOG]
    return sum(1 for r in log if r.method == "GET" and r.path.endswith("/Messages.json"))


async def test_paging_and_number_caches_and_upstream_requests_per_list(
    make_gateway: MakeGateway, sandbox: TestServer
) -> None:
    # Chunks of 2 upstream, exact totals: legacy pages 1 and 2 need remembered cursors.
    gateway = await make_gateway(upstream_page_size=2, total_mode="exact")
    empty = await scrape(gateway)
    for name in ("paging_cursors", "paging_totals", "callback_dedup", "phone_numbers",
                 "messages", "v2008_rows", "v2008_message_xml", "access_log_paths"):
        for family in CACHE_FAMILIES:
            assert f'sms_gateway_cache_{family}{{cache="{name}"}}' in empty, (name, family)
    assert cache(empty, "paging_cursors", "entries") == 0
    assert cache(empty, "paging_totals", "entries") == 0
    numbers_before = cache(empty, "phone_numbers", "hits_total")

    for i in range(5):
        await send(gateway, BASE_2008 if i % 2 else BASE_2010, "+14155550100", f"m{i}")
    after_sends = await scrape(gateway)
    # The same To and From on every send: parsed once, then answered from the cache.
    assert cache(after_sends, "phone_numbers", "hits_total") - numbers_before >= 8
    assert cache(after_sends, "phone_numbers", "entries") >= 2

    sandbox.app[REQUEST_LOG].clear()
    # A deep page first (no cursor known yet: a miss), then the head, then deep pages again.
    lists = [(BASE_2008, {"num": "1", "Page": "3"}), (BASE_2008, {"num": "1", "Page": "0"}),
             (BASE_2008, {"num": "1", "Page": "3"}), (BASE_2010, {"PageSize": "2", "Page": "2"}),
             (BASE_2010, {"PageSize": "2", "Page": "1"}), (BASE_2010, {"PageSize": "2", "Page": "2"})]
    for base, params in lists:
        resp = await gateway.get(base + ".json", params=params, headers=AUTH)
        assert resp.status == 200, await resp.text()
    text = await scrape(gateway)

    # The paging index: the cold Page=3 read the whole (short) list from its head; the warm
    # Page=3 and the first Page=2 of size 2 found no checkpoint near their offsets (misses);
    # Page=2's walk of two reads filed one at offset 4, which the second Page=2 found (a hit).
    assert cache(text, "paging_cursors", "entries") >= 1
    assert cache(text, "paging_cursors", "hits_total") >= 1
    assert cache(text, "paging_cursors", "misses_total") >= 1
    assert cache(text, "paging_totals", "entries") == 1  # one list: one filter, one account
    assert cache(text, "paging_totals", "misses_total") >= 1  # the cold page counted
    assert cache(text, "paging_totals", "hits_total") >= 3
    hits, misses = (cache(text, "paging_totals", f) for f in ("hits_total", "misses_total"))
    assert cache(text, "paging_totals", "hit_ratio") == pytest.approx(hits / (hits + misses))

    per_list = "sms_gateway_upstream_requests_per_list"
    assert value(text, per_list + "_count", dialect="v2008") == 3
    assert value(text, per_list + "_count", dialect="sms2010") == 3
    # Every upstream list request the sandbox saw is accounted to one legacy list, or to a
    # background count (issue 18: counts outlive the request that started them).
    counts = total(text, "sms_gateway_paging_upstream_reads_total", purpose="count")
    assert total(text, per_list + "_sum") + counts == upstream_list_gets(sandbox) > 5


async def test_messages_read_again_come_from_the_translation_caches(
    make_gateway: MakeGateway,
) -> None:
    gateway = await make_gateway()
    for i in range(3):
        await send(gateway, BASE_2008, "+14155550100", f"poll me {i}")
    before = await scrape(gateway)
    bodies = []
    for _ in range(2):  # a poller reading the same XML page twice
        resp = await gateway.get(BASE_2008, params={"num": "3"}, headers=AUTH)
        assert resp.status == 200
        bodies.append(await resp.read())
    text = await scrape(gateway)
    assert bodies[0] == bodies[1]
    for name in ("messages", "v2008_rows", "v2008_message_xml"):
        # The second read finds all three messages and their XML.
        assert cache(text, name, "hits_total") - cache(before, name, "hits_total") >= 3, name
        assert cache(text, name, "entries") >= 3, name


async def test_sms2010_upstream_lists_cost_one_request_each(
    make_gateway: MakeGateway, sandbox: TestServer
) -> None:
    gateway = await make_gateway(upstream_api="sms2010")
    await send(gateway, BASE_2010, "+14155550100", "hello")
    for page in range(3):
        resp = await gateway.get(BASE_2008, params={"Page": str(page), "num": "1"},
                                 headers=AUTH)
        assert resp.status == 200
    text = await scrape(gateway)
    assert value(text, "sms_gateway_upstream_requests_per_list_count", dialect="v2008") == 3
    assert value(text, "sms_gateway_upstream_requests_per_list_sum", dialect="v2008") == 3
    # No cursor cache without the cursor-paged upstream; the other caches are still there.
    assert 'cache="paging_cursors"' not in text
    assert 'cache="callback_dedup"' in text


@pytest.fixture
async def relay_world(
    aiohttp_server: Server, legacy: LegacyApp
) -> AsyncIterator[tuple[web.Application, TestClient]]:
    sandbox = create_sandbox_app(tick=0)
    sandbox_server = await aiohttp_server(sandbox)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(gateway_settings(public_url=public), str(sandbox_server.make_url("")))
    server = TestServer(app, socket_factory=lambda *_: sock)
    client = TestClient(server)
    await client.start_server()
    try:
        yield sandbox, client
    finally:
        await client.close()


async def test_callback_dedup_cache_counts_suppressed_duplicates(
    relay_world: tuple[web.Application, TestClient], legacy: LegacyApp
) -> None:
    sandbox, gateway = relay_world
    auth = basic_auth(ACCOUNT, TOKEN)
    for to in ("+15005550010", "+15005551234"):  # sending, sent / sending, sent, delivered
        resp = await gateway.post(
            f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages.json", headers=auth,
            data={"From": "+15005550006", "To": to, "Body": "hi",
                  "StatusCallback": legacy.url("/status")},
        )
        assert resp.status == 201, await resp.text()
    await sandbox[LIFECYCLE].settle()
    assert len(legacy.seen) == 2
    text = await scrape(gateway)
    assert cache(text, "callback_dedup", "entries") == 2
    assert cache(text, "callback_dedup", "misses_total") == 2  # each message's deciding event
    assert cache(text, "callback_dedup", "hits_total") == 1  # the delivered after sent
    assert cache(text, "callback_dedup", "hit_ratio") == pytest.approx(1 / 3)
