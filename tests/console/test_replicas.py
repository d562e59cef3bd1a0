"""The ledger shared by replicas on one Redis (a real redis-server): two real gateway
processes each serve part of the legacy traffic; either one's console shows all of it, and
the caps hold for the two together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.console import features as feat
from gateway.console.ledger import ACCOUNTS_KEY, OTHER, Ledger, clients_key
from gateway.sandbox.app import create_sandbox_app
from gateway.state.redis import RedisStore
from tests.console.conftest import CONSOLE_AUTH, CONSOLE_TOKEN, OTHER_ACCOUNT, OTHER_TOKEN
from tests.console.test_ledger import A1, A2, A3, observe, settings
from tests.ops.conftest import GatewayProcess, StartGateway, start_gateway
from tests.support.auth import basic_auth
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server", "start_gateway"]  # fixtures, used by name

ACCOUNT = "AC" + "1" * 32
TOKEN = "auth-token-of-account-one"


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    server = TestServer(create_sandbox_app(manual=True), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def _replica(start: StartGateway, upstream: str, redis: RedisServer, prefix: str
                   ) -> GatewayProcess:
    return await start(
        "--port", "0", "--upstream-url", upstream, "--state-url", redis.url,
        "--state-key-prefix", prefix, "--ledger-flush-interval", "0.2",
        env={"GATEWAY_CONSOLE_TOKEN": CONSOLE_TOKEN},
    )


async def _get(http: aiohttp.ClientSession, replica: GatewayProcess, path: str, account: str,
               token: str, agent: str) -> None:
    headers = {**basic_auth(account, token), "User-Agent": agent}
    async with http.get(replica.url + path, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def _ledger_until(http: aiohttp.ClientSession, replica: GatewayProcess, accounts: int,
                        requests: int) -> dict[str, Any]:
    """The replica's ledger once it holds the traffic of both (the other replica flushes
    every 0.2 s; a generous deadline keeps a loaded machine from failing the test)."""
    body: dict[str, Any] = {}
    for _ in range(200):
        async with http.get(replica.url + "/console/api/ledger", headers=CONSOLE_AUTH) as resp:
            assert resp.status == 200
            body = await resp.json()
        got = sum(a["requests_last_week"] for a in body["accounts"])
        if len(body["accounts"]) == accounts and got == requests:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"the ledger never showed all the traffic: {body}")


async def test_two_replicas_share_one_ledger(
    start_gateway: StartGateway, sandbox_url: str, redis_server: RedisServer
) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}:"
    one = await _replica(start_gateway, sandbox_url, redis_server, prefix)
    two = await _replica(start_gateway, sandbox_url, redis_server, prefix)
    list1 = f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages.json"
    list2 = f"/2008-08-01/Accounts/{OTHER_ACCOUNT}/SMS/Messages.csv"
    async with aiohttp.ClientSession() as http:
        await _get(http, one, list1 + "?PageSize=200", ACCOUNT, TOKEN, "alpha-client/1.0")
        await _get(http, one, list1, ACCOUNT, TOKEN, "alpha-client/1.0")
        await _get(http, two, list1 + "?Page=3", ACCOUNT, TOKEN, "gamma-client/3.1")
        await _get(http, two, list2, OTHER_ACCOUNT, OTHER_TOKEN, "beta-client/2.0")
        seen_by_one = await _ledger_until(http, one, accounts=2, requests=4)
        seen_by_two = await _ledger_until(http, two, accounts=2, requests=4)
        async with http.get(two.url + f"/console/api/accounts/{ACCOUNT}/report.json",
                            headers=CONSOLE_AUTH) as resp:
            report = await resp.json()
    for body in (seen_by_one, seen_by_two):
        by = {a["account_sid"]: a for a in body["accounts"]}
        assert {c["client"]: c["requests"] for c in by[ACCOUNT]["clients"]} == {
            "alpha-client/1.0": 2, "gamma-client/3.1": 1,
        }
        assert by[ACCOUNT]["features"][feat.PAGE_SIZE_OVER_50] == 1
        assert by[ACCOUNT]["features"][feat.PAGE_JUMP] == 1
        assert by[OTHER_ACCOUNT]["formats"] == ["csv"]
    items = {i["feature"]: i for i in report["items"]}
    assert items[feat.PAGE_JUMP]["clients"] == ["gamma-client/3.1"]
    assert items[feat.PAGE_JUMP]["share"] == round(1 / 3, 4)
    # In Redis under the replicas' prefix, every key with its time to live.
    keys = redis_server.command("--scan", "--pattern", prefix + "ledger:*").split()
    assert keys and all(k.startswith(prefix.encode()) for k in keys)
    for key in keys:
        ttl = int(redis_server.command("TTL", key.decode()))
        assert 0 < ttl <= 8 * 86400


@pytest.fixture
async def redis_stores(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, ...]]:
    prefix = f"t{uuid.uuid4().hex[:12]}:"
    stores = tuple(RedisStore(redis_server.url, prefix=prefix, timeout=2.0) for _ in range(2))
    yield stores
    for store in stores:
        await store.close()


async def test_caps_hold_across_replicas_on_redis(redis_stores: tuple[RedisStore, ...]) -> None:
    capped = settings(ledger_max_accounts=2, ledger_max_clients=1)
    one, two = (Ledger(store, capped) for store in redis_stores)
    observe(one, A1, "a/1")
    assert await one.flush()
    observe(two, A2, "b/1")
    observe(two, A1, "c/1")  # A1 has its one client already, written by the other replica
    assert await two.flush()
    observe(one, A3, "a/1")  # a third account
    assert await one.flush()
    store = redis_stores[0]
    assert await store.set_members(ACCOUNTS_KEY) == {A1, A2, OTHER}
    assert await store.set_members(clients_key(A1)) == {"a/1", OTHER}
