"""End to end: a legacy 2008 client sends through the gateway to the sandbox (playing Twilio);
the sandbox's signed callbacks and inbound webhooks come back through the gateway's public URL
to a legacy app, which checks every signature with twilio's own RequestValidator."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.callbacks.wrap import inbound_webhook_url
from gateway.sandbox.app import LIFECYCLE, STORE, WEBHOOKS, create_sandbox_app
from tests.callbacks.conftest import ACCOUNT, TOKEN, LegacyApp, gateway_settings
from tests.support.auth import basic_auth

SENDER = "+15005550006"  # Twilio's magic "from" that always works
SERVER = Callable[..., Awaitable[TestServer]]
AUTH = basic_auth(ACCOUNT, TOKEN)


@dataclass
class World:
    sandbox: web.Application
    sandbox_url: str
    gateway_url: str
    settings: Any
    http: aiohttp.ClientSession

    async def settle(self) -> None:
        await self.sandbox[LIFECYCLE].settle()


@pytest.fixture
async def world(aiohttp_server: SERVER) -> Any:
    sandbox = create_sandbox_app(tick=0)
    sandbox_server = await aiohttp_server(sandbox)
    # The gateway's public URL must be its real address (the sandbox calls it), so bind the
    # ephemeral port first and hand that socket to the server.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = gateway_settings(public_url=public)
    gateway = create_app(settings, str(sandbox_server.make_url("")).rstrip("/"))
    gateway_server = TestServer(gateway, socket_factory=lambda *_: sock)
    await gateway_server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield World(
                sandbox, str(sandbox_server.make_url("")).rstrip("/"), public, settings, http
            )
    finally:
        await gateway_server.close()


async def legacy_send(world: World, to: str, callback: str) -> str:
    async with world.http.post(
        f"{world.gateway_url}/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages.json",
        data={"From": SENDER, "To": to, "Body": "Hi Jenny!", "StatusCallback": callback},
        headers=AUTH,
    ) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["TwilioResponse"]["SMSMessage"]["Sid"]


@pytest.mark.parametrize(
    ("to", "outcome", "expected"),
    [
        ("+15005550010", "sent", "sent"),
        ("+15005550011", "failed", "failed"),
        # sending -> sent -> undelivered: "sent" decides first, as 2008's sent meant "handed
        # to the carrier"; the later undelivered is acknowledged, not forwarded.
        ("+15005550012", "undelivered", "sent"),
        ("+15005551234", "delivered", "sent"),
    ],
)
async def test_send_with_status_callback_gives_one_legacy_callback(
    world: World, legacy: LegacyApp, to: str, outcome: str, expected: str
) -> None:
    sid = await legacy_send(world, to, legacy.url("/status?app=1"))
    await world.settle()
    stored = world.sandbox[STORE].get(ACCOUNT, sid)
    assert stored is not None and stored.status == outcome
    assert stored.status_callback.startswith(world.gateway_url + "/callbacks/status/")
    # Twilio (the sandbox) called the relay once per status change, all acknowledged.
    relayed = [d for d in world.sandbox[WEBHOOKS].deliveries if d.kind == "status_callback"]
    assert len(relayed) >= 2 and all(d.ok for d in relayed)
    assert [(s.method, s.url, s.params) for s in legacy.seen] == [
        ("POST", legacy.url("/status?app=1"), [("SmsSid", sid), ("SmsStatus", expected)])
    ]
    assert legacy.seen[0].valid


async def test_legacy_500_then_twilio_retry_delivers_once(
    world: World, legacy: LegacyApp
) -> None:
    legacy.replies = [(500, "down")]
    sid = await legacy_send(world, "+15005550010", legacy.url("/status"))
    await world.settle()
    deliveries = [d for d in world.sandbox[WEBHOOKS].deliveries if d.kind == "status_callback"]
    sent = [d for d in deliveries if d.param_dict()["MessageStatus"] == "sent"]
    assert sent[0].attempts == 2 and sent[0].status == 200  # 502 first, the retry went through
    assert [s.params for s in legacy.seen] == [[("SmsSid", sid), ("SmsStatus", "sent")]] * 2
    assert all(s.valid for s in legacy.seen)


async def test_inbound_sms_reaches_legacy_app_and_its_sms_reply_is_sent(
    world: World, legacy: LegacyApp
) -> None:
    number = "+14155550100"
    hook = inbound_webhook_url(world.settings, ACCOUNT, legacy.url("/sms"), "POST")
    async with world.http.post(
        f"{world.sandbox_url}/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": number, "SmsUrl": hook}, headers=AUTH,
    ) as resp:
        assert resp.status == 201
    legacy.replies = [(200, (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Sms statusCallback="/sms-status">Thanks, got it</Sms></Response>'
    ))]
    async with world.http.post(
        f"{world.sandbox_url}/sandbox/Accounts/{ACCOUNT}/Inbound",
        data={"From": "+14158675309", "To": number, "Body": "Hello there",
              "FromCity": "SAN FRANCISCO", "FromState": "CA"},
        headers=AUTH,
    ) as resp:
        assert resp.status == 201
        result = await resp.json()
    assert result["sms_url_status"] == 200
    inbound = legacy.seen[0]
    assert inbound.valid and inbound.url == legacy.url("/sms")
    assert inbound.params == [
        ("SmsSid", result["sid"]), ("AccountSid", ACCOUNT), ("From", "4158675309"),
        ("To", "4155550100"), ("Body", "Hello there"), ("FromCity", "SAN FRANCISCO"),
        ("FromState", "CA"), ("FromCountry", "US"), ("ToCountry", "US"),
    ]
    # The <Sms> became a <Message> that the sandbox sent as a reply.
    [reply] = result["replies"]
    assert (reply["body"], reply["to"], reply["from"]) == ("Thanks, got it", "+14158675309", number)
    assert reply["direction"] == "outbound-reply"
    stored = world.sandbox[STORE].get(ACCOUNT, reply["sid"])
    assert stored is not None and stored.status_callback.startswith(
        world.gateway_url + "/callbacks/status/"
    )
    # ... and the <Sms statusCallback> comes back to the legacy app in the 2008 form.
    await world.settle()
    assert [(s.url, s.params) for s in legacy.seen[1:]] == [
        (legacy.url("/sms-status"), [("SmsSid", reply["sid"]), ("SmsStatus", "sent")])
    ]
    assert legacy.seen[1].valid
