"""Status progression, outcomes chosen by To number, and signed status callbacks (checked with
twilio-python's own RequestValidator)."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from gateway.sandbox.app import CLOCK, LIFECYCLE, WEBHOOKS, create_sandbox_app
from tests.sandbox.conftest import API, AUTH, TOKEN, send


def assert_signed(rec) -> None:
    validator = RequestValidator(TOKEN)
    for r in rec.requests:
        assert validator.validate(r.url, dict(r.params), r.headers["X-Twilio-Signature"]), r
        assert not RequestValidator("wrong-token").validate(
            r.url, dict(r.params), r.headers["X-Twilio-Signature"]
        )


async def status_of(client, sid: str) -> dict:
    resp = await client.get(f"{API}/Messages/{sid}.json", headers=AUTH)
    return await resp.json()


@pytest.mark.parametrize(
    ("to", "statuses", "error_code"),
    [
        ("+14155551212", ["sending", "sent", "delivered"], None),
        ("+15005550010", ["sending", "sent"], None),
        ("+15005550011", ["sending", "failed"], 30008),
        ("+15005550012", ["sending", "sent", "undelivered"], 30003),
        ("+15005550013", ["sending", "sent", "undelivered"], 30005),
        ("+15005550014", ["sending", "sent", "undelivered"], 30006),
    ],
)
async def test_progression_and_callbacks(
    client, sandbox_app, receiver, to, statuses, error_code
) -> None:
    status, created = await send(client, To=to, StatusCallback=receiver.url("/status?x=1"))
    assert status == 201 and created["status"] == "queued"
    await sandbox_app[LIFECYCLE].settle()
    final = await status_of(client, created["sid"])
    assert final["status"] == statuses[-1]
    assert final["error_code"] == error_code
    assert (final["error_message"] is None) == (error_code is None)
    assert (final["date_sent"] is None) == ("sent" not in statuses)

    assert [dict(r.params)["MessageStatus"] for r in receiver.requests] == statuses
    for r in receiver.requests:
        p = dict(r.params)
        assert r.method == "POST" and r.url.endswith("/status?x=1")
        assert p["MessageSid"] == p["SmsSid"] == created["sid"]
        assert p["SmsStatus"] == p["MessageStatus"]
        assert p["AccountSid"] == created["account_sid"]
        assert (p["From"], p["To"], p["ApiVersion"]) == ("+15005550006", to, "2010-04-01")
        if p["MessageStatus"] in ("failed", "undelivered"):
            assert p["ErrorCode"] == str(error_code)
        else:
            assert "ErrorCode" not in p
    assert_signed(receiver)


async def test_tick_paces_the_steps(aiohttp_client, receiver) -> None:
    app = create_sandbox_app(tick=0.1)
    client = await aiohttp_client(app)
    started = asyncio.get_running_loop().time()
    _, created = await send(client, StatusCallback=receiver.url())
    assert created["status"] == "queued"
    await app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    # sleeps only ever last at least the tick: a lower bound that load cannot break
    times = [started] + [r.at for r in receiver.requests]
    assert len(times) == 4
    assert all(b - a >= 0.09 for a, b in pairwise(times))


async def test_manual_clock(aiohttp_client) -> None:
    app = create_sandbox_app(manual=True)
    client = await aiohttp_client(app)
    _, created = await send(client)
    await asyncio.sleep(0.01)
    assert (await status_of(client, created["sid"]))["status"] == "queued"
    assert await app[LIFECYCLE].advance(created["sid"]) == 1
    assert (await status_of(client, created["sid"]))["status"] == "sending"
    await app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    app[CLOCK].manual = False  # switchable per instance
    app[CLOCK].tick = 0
    _, other = await send(client)
    await app[LIFECYCLE].settle()
    assert (await status_of(client, other["sid"]))["status"] == "delivered"


async def test_callback_failures_are_survived_and_retried(client, sandbox_app, receiver) -> None:
    receiver.status = 500
    sandbox_app[WEBHOOKS].retry_delay = 0
    _, created = await send(client, StatusCallback=receiver.url())
    await sandbox_app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    # one retry per status change on a 5xx
    assert len(receiver.requests) == 2 * 3
    deliveries = sandbox_app[WEBHOOKS].deliveries
    assert [d.status for d in deliveries] == [500] * 3 and all(d.attempts == 2 for d in deliveries)


async def test_unreachable_callback_does_not_stop_progression(client, sandbox_app) -> None:
    sandbox_app[WEBHOOKS].retry_delay = 0
    _, created = await send(client, StatusCallback="http://127.0.0.1:9/nothing-listens")
    await sandbox_app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    assert all(d.status is None and d.error for d in sandbox_app[WEBHOOKS].deliveries)


async def test_sms2010_messages_call_back_once_the_legacy_way(client, sandbox_app, receiver):
    for to in ("+14155551212", "+15005550011", "+15005550012"):
        resp = await client.post(
            f"{API}/SMS/Messages.json",
            data={"To": to, "From": "+15005550006", "Body": "hi",
                  "StatusCallback": receiver.url("/legacy")},
            headers=AUTH,
        )
        assert resp.status == 201
    await sandbox_app[LIFECYCLE].settle()
    got = sorted((dict(r.params)["To"], dict(r.params)["SmsStatus"]) for r in receiver.requests)
    # delivered -> sent; failed -> failed; undelivered was "sent" first, and it calls back once
    assert got == [("+14155551212", "sent"), ("+15005550011", "failed"),
                   ("+15005550012", "sent")]
    for r in receiver.requests:
        assert set(dict(r.params)) == {"AccountSid", "ApiVersion", "From", "SmsSid", "SmsStatus",
                                       "To"}
    assert_signed(receiver)


async def test_shutdown_cancels_pending_progressions(aiohttp_server, receiver) -> None:
    app = create_sandbox_app(tick=30)
    server = await aiohttp_server(app)
    async with TestClient(server) as client:
        await send(client, StatusCallback=receiver.url())
        assert app[LIFECYCLE].in_flight == 1
    await server.close()
    assert app[LIFECYCLE].in_flight == 0
    assert receiver.requests == []
