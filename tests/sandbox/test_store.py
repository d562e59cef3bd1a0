"""Bounded storage, concurrency, seeding, segment counting and the real server path."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.sandbox.app import REQUEST_LOG, STORE, create_sandbox_app
from gateway.sandbox.segments import num_segments
from gateway.server import start_site
from tests.sandbox.conftest import ACCOUNT, API, AUTH, OTHER_ACCOUNT, TOKEN, basic, send


async def test_oldest_are_evicted_per_account(aiohttp_client) -> None:
    app = create_sandbox_app(Settings(sandbox_max_messages=5, sandbox_tick=0))
    client = await aiohttp_client(app)
    sids = [(await send(client, Body=f"m{i}"))[1]["sid"] for i in range(8)]
    app[STORE].seed(OTHER_ACCOUNT, 3)
    assert app[STORE].count(ACCOUNT) == 5 and app[STORE].count(OTHER_ACCOUNT) == 3
    page = await (await client.get(f"{API}/Messages.json", headers=AUTH)).json()
    assert [m["sid"] for m in page["messages"]] == list(reversed(sids[3:]))
    gone = await client.get(f"{API}/Messages/{sids[0]}.json", headers=AUTH)
    assert gone.status == 404


async def test_concurrent_creates_lose_nothing(client, sandbox_app) -> None:
    results = await asyncio.gather(*(send(client, Body=f"c{i}") for i in range(300)))
    assert all(status == 201 for status, _ in results)
    sids = {body["sid"] for _, body in results}
    assert len(sids) == 300 == sandbox_app[STORE].count(ACCOUNT)
    page = await (await client.get(f"{API}/Messages.json", params={"PageSize": "1000"},
                                   headers=AUTH)).json()
    assert {m["sid"] for m in page["messages"]} == sids


async def test_concurrent_first_use_of_an_account_keeps_one_token(client) -> None:
    tokens = [f"t{i}" for i in range(20)]
    responses = await asyncio.gather(
        *(client.get(f"{API}/Messages.json", headers=basic(ACCOUNT, t)) for t in tokens)
    )
    assert sorted(r.status for r in responses) == [200] + [401] * 19


async def test_seed_with_chosen_fields(sandbox_app) -> None:
    start = datetime(2009, 7, 6, 10, 0, tzinfo=UTC)
    seeded = sandbox_app[STORE].seed(
        ACCOUNT, 4, start=start, direction="inbound", status="received",
        to=lambda i: f"+1415555000{i}",
    )
    assert [m.to for m in seeded] == [f"+1415555000{i}" for i in range(4)]
    assert seeded[0].date_sent == start and seeded[0].direction == "inbound"
    assert [m.sid for m in sandbox_app[STORE].all(ACCOUNT)] == [m.sid for m in reversed(seeded)]


async def test_request_log_records_requests_without_credentials(client, sandbox_app) -> None:
    await send(client, Body="logged")
    await client.get(f"{API}/Messages.json", params={"To": "+14155551212"}, headers=AUTH)
    log = sandbox_app[REQUEST_LOG]
    post = log.last("POST", "/Messages.json")
    assert post is not None and post.form_dict()["Body"] == "logged"
    assert log.last("GET").query_dict() == {"To": "+14155551212"}
    assert TOKEN not in repr(list(log))


async def test_logs_carry_no_token_or_body(client, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.sandbox")
    await send(client, Body="very secret words")
    assert caplog.records
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "very secret words" not in text and TOKEN not in text


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
        ("{" * 80, 1), ("{" * 81, 2),  # extension characters take two septets
        ("é" * 160, 1),  # é is in the GSM basic set
        ("ü" * 70 + "ł", 2), ("ł" * 70, 1), ("ł" * 71, 2), ("ł" * 134, 2), ("ł" * 135, 3),
        ("😀" * 35, 1), ("😀" * 36, 2),  # surrogate pairs are two UCS-2 units
        ("a" * 1600, 11),
    ],
)
def test_num_segments(body, segments) -> None:
    assert num_segments(body) == segments


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_num_segments_bounds(body) -> None:
    n = num_segments(body)
    assert n >= 1
    assert n <= max(1, -(-len(body) * 2 // 67))


async def test_real_server_path_serves_the_sandbox() -> None:
    settings_ = Settings(port=0, sandbox_tick=0)
    runner, port = await start_site(create_sandbox_app(settings_), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200
            async with session.post(
                f"http://127.0.0.1:{port}{API}/Messages.json",
                data={"To": "+14155551212", "From": "+15005550006", "Body": "hi"},
                headers=AUTH,
            ) as resp:
                assert resp.status == 201
    finally:
        await runner.cleanup()
