"""The inbound-SMS bridge and the <Sms action> relay, with Twilio played by signed requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from lxml import etree
from twilio.request_validator import RequestValidator

from gateway.callbacks.twiml import EMPTY_RESPONSE
from gateway.callbacks.urls import ACTION_PATH, STATUS_PATH
from gateway.callbacks.wrap import inbound_webhook_url
from tests.callbacks.conftest import (
    ACCOUNT,
    OTHER_ACCOUNT,
    OTHER_TOKEN,
    PUBLIC_URL,
    LegacyApp,
    gateway_settings,
    twilio_get,
    twilio_post,
)

SID = "SM" + "b" * 32
MakeGateway = Callable[..., Awaitable[TestClient]]


def inbound_event(account: str = ACCOUNT) -> list[tuple[str, str]]:
    return [
        ("ToCountry", "US"), ("SmsMessageSid", SID), ("NumMedia", "0"), ("SmsSid", SID),
        ("SmsStatus", "received"), ("Body", "Hi there"), ("To", "+14155550100"),
        ("NumSegments", "1"), ("MessageSid", SID), ("AccountSid", account),
        ("From", "+14158675309"), ("ApiVersion", "2010-04-01"), ("FromCountry", "US"),
    ]


LEGACY_PARAMS = [
    ("SmsSid", SID), ("AccountSid", ACCOUNT), ("From", "4158675309"), ("To", "4155550100"),
    ("Body", "Hi there"), ("FromCountry", "US"), ("ToCountry", "US"),
]


def hook(legacy: LegacyApp, method: str = "POST", **changes: str) -> str:
    return inbound_webhook_url(gateway_settings(**changes), ACCOUNT, legacy.url("/sms"), method)


async def test_legacy_app_expecting_get(gateway: TestClient, legacy: LegacyApp) -> None:
    legacy.replies = [(200, "<Response><Sms>pong</Sms></Response>")]
    resp = await twilio_post(gateway, hook(legacy, "GET"), inbound_event())
    assert resp.status == 200 and resp.content_type == "application/xml"
    assert etree.fromstring(await resp.read())[0].tag == "Message"
    seen = legacy.seen[0]
    assert seen.method == "GET" and seen.params == LEGACY_PARAMS
    assert seen.valid  # signed over the full URL with its query, as Twilio signs GETs


async def test_twilio_calling_with_get(gateway: TestClient, legacy: LegacyApp) -> None:
    resp = await twilio_get(gateway, hook(legacy), inbound_event())
    assert resp.status == 200
    assert legacy.seen[0].method == "POST" and legacy.seen[0].params == LEGACY_PARAMS
    assert legacy.seen[0].valid


async def test_number_format_setting_applies(make_gateway: MakeGateway, legacy: LegacyApp) -> None:
    gateway = await make_gateway(number_format="e164")
    assert (await twilio_post(gateway, hook(legacy), inbound_event())).status == 200
    assert dict(legacy.seen[0].params)["From"] == "+14158675309"


@pytest.mark.parametrize(
    "reply",
    [
        (200, "<Response><Sms>unclosed</Response>"),
        (200, "<html>oops</html>"),
        (500, "<Response><Sms>never</Sms></Response>"),
        (404, ""),
        (302, ""),
    ],
)
async def test_unusable_legacy_answers_become_an_empty_response(
    gateway: TestClient, legacy: LegacyApp, reply: tuple[int, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    legacy.replies = [reply]
    resp = await twilio_post(gateway, hook(legacy), inbound_event())
    assert resp.status == 200
    assert await resp.read() == EMPTY_RESPONSE
    assert any(r.levelname == "ERROR" for r in caplog.records)
    assert "Hi there" not in caplog.text  # message bodies are never logged


async def test_legacy_timeout_or_oversized_reply(make_gateway: MakeGateway, legacy: LegacyApp) -> None:
    gateway = await make_gateway(callback_timeout=0.2, callback_max_body=1024)
    legacy.delay = 1.0
    resp = await twilio_post(gateway, hook(legacy), inbound_event())
    assert (resp.status, await resp.read()) == (200, EMPTY_RESPONSE)
    legacy.delay = 0
    legacy.replies = [(200, "<Response><Sms>" + "x" * 2000 + "</Sms></Response>")]
    resp = await twilio_post(gateway, hook(legacy), inbound_event())
    assert (resp.status, await resp.read()) == (200, EMPTY_RESPONSE)


async def test_forged_and_foreign_requests_are_refused(
    gateway: TestClient, legacy: LegacyApp
) -> None:
    url = hook(legacy)
    bad = RequestValidator("guess").compute_signature(url, dict(inbound_event()))
    assert (await twilio_post(gateway, url, inbound_event(), signature=bad)).status == 403
    event = inbound_event(OTHER_ACCOUNT)
    assert (await twilio_post(gateway, url, event, token=OTHER_TOKEN)).status == 403
    # An inbound token is not a status-callback token, and vice versa.
    token = url.rsplit("/", 1)[1]
    assert (await twilio_post(gateway, PUBLIC_URL + STATUS_PATH + token, event)).status == 404
    assert legacy.seen == []


async def test_allow_list_applies_to_inbound(make_gateway: MakeGateway, legacy: LegacyApp) -> None:
    gateway = await make_gateway(callback_allowed_hosts="legacy.example.com")
    resp = await twilio_post(gateway, hook(legacy), inbound_event())
    assert (resp.status, await resp.read()) == (200, EMPTY_RESPONSE)
    assert legacy.seen == []


async def test_sms_action_relay(gateway: TestClient, legacy: LegacyApp) -> None:
    legacy.replies = [(200, '<Response><Sms action="/after" method="GET">ok</Sms></Response>')]
    resp = await twilio_post(gateway, hook(legacy), inbound_event())
    message = etree.fromstring(await resp.read())[0]
    action = message.get("action")
    assert action.startswith(PUBLIC_URL + ACTION_PATH) and message.get("method") == "POST"
    # Twilio requests the action URL once the reply is sent; the legacy app sees 2008's form.
    reply_sid = "SM" + "c" * 32
    event = [("MessageSid", reply_sid), ("MessageStatus", "sent"), ("SmsSid", reply_sid),
             ("SmsStatus", "sent"), ("AccountSid", ACCOUNT)]
    legacy.replies = [(200, "<Response><Sms>second</Sms></Response>")]
    resp = await twilio_post(gateway, action, event)
    assert resp.status == 200
    assert etree.fromstring(await resp.read())[0].tag == "Message"
    seen = legacy.seen[1]
    assert seen.method == "GET" and seen.url.startswith(legacy.url("/after?"))
    assert seen.params == [("SmsSid", reply_sid), ("SmsStatus", "sending"), ("AccountSid", ACCOUNT)]
    assert seen.valid
