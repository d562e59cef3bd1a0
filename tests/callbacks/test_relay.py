"""The status-callback relay, with Twilio played by signed requests and a real legacy app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from gateway.callbacks import wrap_status_callback
from gateway.callbacks.tokens import INBOUND, STATUS, CallbackTarget, sign_token
from gateway.callbacks.urls import STATUS_PATH
from gateway.model import ApiError
from tests.callbacks.conftest import (
    ACCOUNT,
    KEY,
    OTHER_ACCOUNT,
    OTHER_TOKEN,
    PUBLIC_URL,
    LegacyApp,
    gateway_settings,
    status_event,
    twilio_post,
)

SID = "SM" + "a" * 32
MakeGateway = Callable[..., Awaitable[TestClient]]


def relay_url(legacy: LegacyApp, dialect: str = "v2008", account: str = ACCOUNT) -> str:
    return wrap_status_callback(gateway_settings(), legacy.url("/status"), account, dialect)


async def test_one_legacy_callback_per_message_sent_then_delivered(
    gateway: TestClient, legacy: LegacyApp
) -> None:
    url = relay_url(legacy)
    assert url.startswith(PUBLIC_URL + STATUS_PATH)
    for status in ("queued", "sending"):
        resp = await twilio_post(gateway, url, status_event(SID, status))
        assert resp.status == 204
    assert legacy.seen == []
    resp = await twilio_post(gateway, url, status_event(SID, "sent"))
    assert resp.status == 200
    resp = await twilio_post(gateway, url, status_event(SID, "delivered"))
    assert resp.status == 204
    assert len(legacy.seen) == 1
    seen = legacy.seen[0]
    assert seen.method == "POST" and seen.url == legacy.url("/status")
    # Exactly the 2008 StatusCallback parameters, in order (seed 000: SmsSid + SmsStatus).
    assert seen.params == [("SmsSid", SID), ("SmsStatus", "sent")]
    assert seen.valid, "twilio's RequestValidator must accept the re-signed callback"


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (["queued", "sending", "failed"], "failed"),
        (["sending", "undelivered"], "failed"),
        (["sending", "sent", "undelivered"], "sent"),  # sent decided; undelivered comes later
        (["canceled"], "failed"),
    ],
)
async def test_first_deciding_event_wins(
    gateway: TestClient, legacy: LegacyApp, events: list[str], expected: str
) -> None:
    url = relay_url(legacy)
    for status in events:
        assert (await twilio_post(gateway, url, status_event(SID, status))).status in (200, 204)
    assert [s.params for s in legacy.seen] == [[("SmsSid", SID), ("SmsStatus", expected)]]


async def test_sms2010_dialect_parameters(gateway: TestClient, legacy: LegacyApp) -> None:
    url = relay_url(legacy, dialect="sms2010")
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 200
    assert legacy.seen[0].params == [
        ("AccountSid", ACCOUNT), ("ApiVersion", "2010-04-01"), ("From", "+14155551212"),
        ("SmsSid", SID), ("SmsStatus", "sent"), ("To", "+14158675309"),
    ]
    assert legacy.seen[0].valid


async def test_forged_signature_is_refused(gateway: TestClient, legacy: LegacyApp) -> None:
    url = relay_url(legacy)
    forged = RequestValidator("not-the-token").compute_signature(url, dict(status_event(SID, "sent")))
    resp = await twilio_post(gateway, url, status_event(SID, "sent"), signature=forged)
    assert resp.status == 403
    assert "<Code>20003</Code>" in await resp.text()
    # Signed for other parameters than those sent (tampered in flight).
    good = status_event(SID, "sent")
    sig = RequestValidator("auth-token-of-account-one").compute_signature(url, dict(good))
    resp = await twilio_post(gateway, url, status_event(SID, "failed"), signature=sig)
    assert resp.status == 403
    resp = await gateway.post(url[len(PUBLIC_URL):], data=dict(good))  # no signature at all
    assert resp.status == 403
    assert legacy.seen == []


async def test_token_replayed_for_another_account_is_refused(
    gateway: TestClient, legacy: LegacyApp
) -> None:
    url = relay_url(legacy, account=ACCOUNT)
    # Account two's genuine, correctly signed callback sent to account one's relay URL.
    event = status_event(SID, "sent", account=OTHER_ACCOUNT)
    resp = await twilio_post(gateway, url, event, token=OTHER_TOKEN)
    assert resp.status == 403
    assert legacy.seen == []


async def test_unsigned_tampered_and_misused_tokens_are_not_found(
    gateway: TestClient, legacy: LegacyApp
) -> None:
    target = CallbackTarget(STATUS, legacy.url("/status"), ACCOUNT, "v2008")
    foreign = sign_token("some-other-gateways-key-0123", target)
    genuine = sign_token(KEY, target)
    head, _payload, mac = genuine.split(".")
    evil = CallbackTarget(STATUS, "http://169.254.169.254/latest", ACCOUNT, "v2008")
    swapped = ".".join([head, sign_token(KEY, evil).split(".")[1], mac])
    inbound = sign_token(KEY, CallbackTarget(INBOUND, legacy.url("/sms"), ACCOUNT, "v2008"))
    for token in (foreign, swapped, genuine[:-2], "v1.e30.AAAA", "garbage", inbound):
        url = PUBLIC_URL + STATUS_PATH + token
        resp = await twilio_post(gateway, url, status_event(SID, "sent"))
        assert resp.status == 404, token
    assert legacy.seen == []


async def test_expired_status_token_is_refused(gateway: TestClient, legacy: LegacyApp) -> None:
    old = CallbackTarget(STATUS, legacy.url("/status"), ACCOUNT, "v2008", issued_at=1)
    url = PUBLIC_URL + STATUS_PATH + sign_token(KEY, old)
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 404


async def test_oversized_body_is_refused(make_gateway: MakeGateway, legacy: LegacyApp) -> None:
    gateway = await make_gateway(callback_max_body=512)
    url = relay_url(legacy)
    event = status_event(SID, "sent") + [("Padding", "x" * 1000)]
    resp = await twilio_post(gateway, url, event)
    assert resp.status == 413
    assert legacy.seen == []


async def test_allow_list(make_gateway: MakeGateway, legacy: LegacyApp) -> None:
    allowed = gateway_settings(callback_allowed_hosts="legacy.example.com,*.corp.example")
    with pytest.raises(ApiError) as err:
        wrap_status_callback(allowed, legacy.url("/status"), ACCOUNT, "v2008")
    assert (err.value.status, err.value.code) == (400, 21609)
    assert wrap_status_callback(allowed, "https://a.corp.example/cb", ACCOUNT, "v2008")
    with pytest.raises(ApiError):
        wrap_status_callback(allowed, "file:///etc/passwd", ACCOUNT, "v2008")
    # A token issued before the allow-list shrank is refused when the callback comes.
    url = relay_url(legacy)
    gateway = await make_gateway(callback_allowed_hosts="legacy.example.com")
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 403
    assert legacy.seen == []


async def test_without_public_url_the_legacy_url_goes_upstream_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = gateway_settings(public_url="")
    assert wrap_status_callback(settings, "https://l.example/cb", ACCOUNT, "v2008") == (
        "https://l.example/cb"
    )


async def test_legacy_500_is_not_swallowed_and_the_retry_delivers_once(
    gateway: TestClient, legacy: LegacyApp
) -> None:
    url = relay_url(legacy)
    legacy.replies = [(500, "oops")]
    resp = await twilio_post(gateway, url, status_event(SID, "sent"))
    assert resp.status == 502
    resp = await twilio_post(gateway, url, status_event(SID, "sent"))  # Twilio's retry
    assert resp.status == 200
    resp = await twilio_post(gateway, url, status_event(SID, "delivered"))
    assert resp.status == 204
    assert [s.params for s in legacy.seen] == [[("SmsSid", SID), ("SmsStatus", "sent")]] * 2
    assert all(s.valid for s in legacy.seen)


async def test_legacy_4xx_is_returned_and_counts_as_answered(
    gateway: TestClient, legacy: LegacyApp
) -> None:
    url = relay_url(legacy)
    legacy.replies = [(404, "")]
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 404
    assert (await twilio_post(gateway, url, status_event(SID, "delivered"))).status == 204
    assert len(legacy.seen) == 1


async def test_legacy_timeout_is_a_504(make_gateway: MakeGateway, legacy: LegacyApp) -> None:
    gateway = await make_gateway(callback_timeout=0.2)
    legacy.delay = 1.0
    url = relay_url(legacy)
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 504
    legacy.delay = 0
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 200


async def test_redirects_are_not_followed(gateway: TestClient, legacy: LegacyApp) -> None:
    url = relay_url(legacy)
    legacy.replies = [(302, "")]
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 502
    assert [s.url for s in legacy.seen] == [legacy.url("/status")]


async def test_concurrent_events_make_one_call(gateway: TestClient, legacy: LegacyApp) -> None:
    legacy.delay = 0.1
    url = relay_url(legacy)
    results = await asyncio.gather(
        twilio_post(gateway, url, status_event(SID, "sent")),
        twilio_post(gateway, url, status_event(SID, "delivered")),
    )
    assert sorted(r.status for r in results) == [200, 204]
    assert len(legacy.seen) == 1


async def test_dedup_state_is_per_account(gateway: TestClient, legacy: LegacyApp) -> None:
    one, two = relay_url(legacy, account=ACCOUNT), relay_url(legacy, account=OTHER_ACCOUNT)
    assert (await twilio_post(gateway, one, status_event(SID, "sent"))).status == 200
    event = status_event(SID, "sent", account=OTHER_ACCOUNT)
    assert (await twilio_post(gateway, two, event, token=OTHER_TOKEN)).status == 200
    assert len(legacy.seen) == 2
    assert RequestValidator(OTHER_TOKEN).validate(
        legacy.seen[1].url, dict(legacy.seen[1].params), legacy.seen[1].signature
    )


async def test_legacy_app_unreachable_is_a_502(gateway: TestClient) -> None:
    url = wrap_status_callback(gateway_settings(), "http://127.0.0.1:9/cb", ACCOUNT, "v2008")
    assert (await twilio_post(gateway, url, status_event(SID, "sent"))).status == 502


async def test_outcomes_are_counted(gateway: TestClient, legacy: LegacyApp) -> None:
    from gateway.observability.metrics import METRICS

    metrics = gateway.app[METRICS]

    def count(outcome: str) -> float:
        value = metrics.registry.get_sample_value(
            "sms_gateway_callback_relays_total",
            {"kind": "status_callback", "outcome": outcome},
        )
        return value or 0.0

    url = relay_url(legacy)
    await twilio_post(gateway, url, status_event(SID, "sending"))
    await twilio_post(gateway, url, status_event(SID, "sent"))
    await twilio_post(gateway, url, status_event(SID, "delivered"))
    await twilio_post(gateway, url, status_event(SID, "sent"), signature="forged")
    assert [count(o) for o in ("pending", "delivered", "duplicate", "bad_signature")] == [1] * 4
