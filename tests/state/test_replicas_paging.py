"""Two real gateway processes on one Redis share a list's paging index: a list counted through
one replica is warm on the other (the same exact total, a deep page in at most two upstream
requests: the head read that catches new arrivals, then the page from its checkpoint)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from lxml import etree

from gateway.sandbox.app import REQUEST_LOG, STORE
from gateway.sandbox.bulk import seed_account
from tests.callbacks.conftest import ACCOUNT
from tests.ops.conftest import StartGateway, start_gateway
from tests.state.replicas import AUTH, LEGACY_BASE, Bench, bench, prefix, start_replica
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["bench", "redis_server", "start_gateway"]  # fixtures

MESSAGES = 3200
PAGE_SIZE = 50


def _list_reads(bench: Bench) -> int:
    return sum(1 for r in bench.sandbox[REQUEST_LOG] if r.method == "GET" and
               r.path.endswith("/Messages.json"))


async def _page(bench: Bench, url: str, page: int) -> tuple[int, dict[str, str], int]:
    """(status, the TwilioResponse's <SMSMessages> attributes, upstream list reads it cost)."""
    before = _list_reads(bench)
    async with bench.http.get(
        f"{url}{LEGACY_BASE}", params={"Page": str(page), "num": str(PAGE_SIZE)},
        headers=AUTH,
    ) as resp:
        body = await resp.read()
    listing = etree.fromstring(body).find("SMSMessages")
    attrs = dict(listing.attrib) if listing is not None else {}
    return resp.status, attrs, _list_reads(bench) - before


async def test_a_list_counted_on_one_replica_is_warm_on_the_other(
    bench: Bench, start_gateway: StartGateway, redis_server: RedisServer
) -> None:
    seed_account(bench.sandbox[STORE], ACCOUNT, MESSAGES, end=datetime.now(UTC), days=10)
    keys = prefix()
    a, b = [
        await start_replica(start_gateway, bench, redis_server.url, "--state-key-prefix", keys)
        for _ in range(2)
    ]
    # Replica A is asked until its count is done: the total is then exact.
    for _ in range(100):
        status, attrs, _ = await _page(bench, a.url, 0)
        assert status == 200
        if attrs.get("total") == str(MESSAGES):
            break
        await asyncio.sleep(0.1)
    assert attrs["total"] == str(MESSAGES)
    assert attrs["numpages"] == str(MESSAGES // PAGE_SIZE)

    # Replica B never walked this list: a deep page is served from the shared index.
    deep = MESSAGES // PAGE_SIZE - 10
    status, attrs_b, reads = await _page(bench, b.url, deep)
    assert status == 200
    assert (attrs_b["total"], attrs_b["numpages"]) == (attrs["total"], attrs["numpages"])
    assert attrs_b["page"] == str(deep)
    assert reads <= 2, f"a warm deep page cost {reads} upstream list reads on the other replica"
