"""Answers validate against Twilio's official OpenAPI description (vendored extract), with the
current API's field order."""

from __future__ import annotations

import re

import jsonschema
import pytest

from gateway.sandbox.app import LIFECYCLE, STORE
from tests.sandbox.conftest import ACCOUNT, API, AUTH, send
from tests.sandbox.schemas import properties, validate

LIST_ORDER = [
    "first_page_uri", "end", "previous_page_uri", "messages", "uri", "page_size", "start",
    "next_page_uri", "page",
]


async def test_create_answer_validates_and_keeps_field_order(client) -> None:
    status, body = await send(client, Body="Jenny please?! I love you <3", To="555-867-5309")
    assert status == 201
    validate("message", body)
    assert list(body) == properties("message")
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert body["to"] == "+15558675309"
    assert body["status"] == "queued"
    assert body["direction"] == "outbound-api"
    assert body["date_sent"] is None and body["price"] is None
    assert body["price_unit"] == "USD" and body["api_version"] == "2010-04-01"
    assert body["error_code"] is None and body["error_message"] is None
    assert body["num_media"] == "0" and body["num_segments"] == "1"
    assert body["uri"] == f"{API}/Messages/{body['sid']}.json"
    assert body["subresource_uris"] == {
        "media": f"{API}/Messages/{body['sid']}/Media.json",
        "feedback": f"{API}/Messages/{body['sid']}/Feedback.json",
    }
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000",
                        body["date_created"])


async def test_fetch_and_list_validate(client, sandbox_app) -> None:
    _, created = await send(client)
    await sandbox_app[LIFECYCLE].settle()
    resp = await client.get(f"{API}/Messages/{created['sid']}.json", headers=AUTH)
    assert resp.status == 200
    fetched = await resp.json()
    validate("message", fetched)
    assert fetched["status"] == "delivered" and fetched["date_sent"] is not None

    sandbox_app[STORE].seed(ACCOUNT, 5)
    resp = await client.get(f"{API}/Messages.json", params={"PageSize": "2"}, headers=AUTH)
    page = await resp.json()
    validate("message_list", page)
    assert list(page) == LIST_ORDER
    assert not {"total", "num_pages", "last_page_uri"} & set(page)
    for m in page["messages"]:
        assert list(m) == properties("message")


async def test_seeded_inbound_and_failed_messages_validate(client, sandbox_app) -> None:
    sandbox_app[STORE].seed(ACCOUNT, 1, direction="inbound", status="received")
    sandbox_app[STORE].seed(
        ACCOUNT, 1, status="failed", error_code=30008, error_message="Unknown error"
    )
    resp = await client.get(f"{API}/Messages.json", headers=AUTH)
    page = await resp.json()
    validate("message_list", page)
    assert {m["status"] for m in page["messages"]} == {"received", "failed"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{API}/Messages/SM{'0' * 32}.json", 404),
        ("GET", "/no/such/route", 404),
        ("DELETE", f"{API}/Messages.json", 405),
        ("GET", f"{API}/Messages.json?PageToken=garbage", 400),
    ],
)
async def test_error_answers_validate(client, method, path, status) -> None:
    resp = await client.request(method, path, headers=AUTH)
    assert resp.status == status
    body = await resp.json()
    validate("error", body)
    assert list(body) == ["code", "message", "more_info", "status"]
    assert body["status"] == status


async def test_validator_is_real(client) -> None:
    """The schema would catch a wrong answer: a bad sid, status or date fails it."""
    _, body = await send(client)
    for field, bad in (("sid", "XX123"), ("status", "teleported"), ("date_created", "yesterday"),
                       ("error_code", "30008"), ("account_sid", "AC1")):
        with pytest.raises(jsonschema.ValidationError):
            validate("message", {**body, field: bad})


async def test_incoming_phone_numbers_validate(client, receiver) -> None:
    resp = await client.post(
        f"{API}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "+14155550100", "SmsUrl": receiver.url(), "SmsMethod": "GET"},
        headers=AUTH,
    )
    assert resp.status == 201
    number = await resp.json()
    validate("incoming_phone_number", number)
    assert re.fullmatch(r"PN[0-9a-f]{32}", number["sid"])
    resp = await client.get(f"{API}/IncomingPhoneNumbers.json", headers=AUTH)
    listing = await resp.json()
    validate("incoming_phone_number_list", listing)
    assert [n["sid"] for n in listing["incoming_phone_numbers"]] == [number["sid"]]
    resp = await client.get(f"{API}/IncomingPhoneNumbers/{number['sid']}.json", headers=AUTH)
    assert (await resp.json())["sms_method"] == "GET"
