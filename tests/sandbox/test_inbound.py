"""Inbound SMS injection: the number's SMS URL gets Twilio's inbound parameters, signed, and a
TwiML <Message> reply is sent back out."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from gateway.sandbox.app import LIFECYCLE, STORE
from tests.sandbox.conftest import ACCOUNT, API, AUTH, TOKEN
from tests.sandbox.schemas import validate

NUMBER = "+14155550100"
INBOUND = f"/sandbox/Accounts/{ACCOUNT}/Inbound"
PARAMS = {
    "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "From", "To", "Body", "NumMedia",
    "NumSegments", "ApiVersion", "SmsStatus", "FromCity", "FromState", "FromZip", "FromCountry",
    "ToCity", "ToState", "ToZip", "ToCountry",
}


async def buy(client, url: str, method: str = "POST") -> dict:
    resp = await client.post(
        f"{API}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": NUMBER, "SmsUrl": url, "SmsMethod": method},
        headers=AUTH,
    )
    assert resp.status == 201
    return await resp.json()


async def inject(client, **form: str) -> dict:
    data = {"From": "+14155557777", "To": NUMBER, "Body": "Hi there", **form}
    resp = await client.post(INBOUND, data=data, headers=AUTH)
    assert resp.status == 201, await resp.text()
    return await resp.json()


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_webhook_parameters_and_signature(client, receiver, method) -> None:
    await buy(client, receiver.url("/sms?app=1"), method)
    result = await inject(client, FromCity="SAN FRANCISCO", FromState="CA", FromZip="94105")
    assert result["sms_url_status"] == 200 and result["replies"] == []
    validate("message", result["message"])
    assert result["message"]["direction"] == "inbound"
    assert result["message"]["status"] == "received"

    [hit] = receiver.requests
    assert hit.method == method
    if method == "POST":
        params = dict(hit.params)
    else:  # GET: the parameters travel in the query, after the URL's own
        query = parse_qsl(urlsplit(hit.url).query, keep_blank_values=True)
        params = {k: v for k, v in query if k != "app"}
    assert set(params) == PARAMS
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == result["sid"]
    assert params["AccountSid"] == ACCOUNT and params["Body"] == "Hi there"
    assert (params["From"], params["To"]) == ("+14155557777", NUMBER)
    assert params["NumMedia"] == "0" and params["NumSegments"] == "1"
    assert params["FromCity"] == "SAN FRANCISCO" and params["FromCountry"] == "US"
    assert params["ToCountry"] == "US" and params["ToCity"] == ""
    validator = RequestValidator(TOKEN)
    post_params = dict(hit.params) if method == "POST" else {}
    assert validator.validate(hit.url, post_params, hit.headers["X-Twilio-Signature"])


async def test_messaging_service_sid_is_passed_when_given(client, receiver) -> None:
    await buy(client, receiver.url())
    service = "MG" + "c" * 32
    await inject(client, MessagingServiceSid=service)
    assert dict(receiver.requests[0].params)["MessagingServiceSid"] == service


async def test_twiml_reply_is_sent(client, sandbox_app, receiver) -> None:
    receiver.content_type = "application/xml"
    receiver.reply = (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        "<Message>Thanks!</Message>"
        '<Message to="+14155558888" from="+15005550006"><Body>Copy</Body></Message>'
        "</Response>"
    )
    await buy(client, receiver.url())
    result = await inject(client)
    replies = result["replies"]
    assert [(m["to"], m["from"], m["body"]) for m in replies] == [
        ("+14155557777", NUMBER, "Thanks!"),
        ("+14155558888", "+15005550006", "Copy"),
    ]
    assert all(m["direction"] == "outbound-reply" and m["status"] == "queued" for m in replies)
    await sandbox_app[LIFECYCLE].settle()
    resp = await client.get(f"{API}/Messages/{replies[0]['sid']}.json", headers=AUTH)
    assert (await resp.json())["status"] == "delivered"
    assert sandbox_app[STORE].count(ACCOUNT) == 3


@pytest.mark.parametrize(
    "reply",
    ["", "not xml", "<Response/>", "<Other><Message>x</Message></Other>",
     ('<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><Response><Message>&e;</Message>'
     "</Response>")],
)
async def test_non_replies_send_nothing(client, sandbox_app, receiver, reply) -> None:
    receiver.reply = reply
    await buy(client, receiver.url())
    result = await inject(client)
    for m in result["replies"]:
        assert "root:" not in m["body"]
    assert sandbox_app[STORE].count(ACCOUNT) == 1 + len(result["replies"])


async def test_bad_reply_message_is_reported_not_sent(client, receiver) -> None:
    receiver.reply = '<Response><Message to="(xxx) xxx-xxx">x</Message></Response>'
    await buy(client, receiver.url())
    result = await inject(client)
    assert result["replies"] == [] and result["reply_errors"][0]["code"] == 21211


async def test_unreachable_sms_url(client) -> None:
    await buy(client, "http://127.0.0.1:9/down")
    result = await inject(client)
    assert result["sms_url_status"] is None and result["sms_url_error"]


async def test_number_without_sms_url_just_stores(client, sandbox_app) -> None:
    result = await inject(client, To="+14155550199")
    assert result["sms_url"] is None and sandbox_app[STORE].count(ACCOUNT) == 1


@pytest.mark.parametrize(
    ("form", "code"),
    [({"To": ""}, 21604), ({"From": ""}, 21603), ({"To": "nope"}, 21211),
     ({"From": "(xxx)"}, 21212)],
)
async def test_injection_errors(client, form, code) -> None:
    data = {"From": "+14155557777", "To": NUMBER, "Body": "x", **form}
    resp = await client.post(INBOUND, data=data, headers=AUTH)
    assert resp.status == 400 and (await resp.json())["code"] == code


async def test_injection_needs_credentials(client) -> None:
    resp = await client.post(INBOUND, data={"From": "+14155557777", "To": NUMBER})
    assert resp.status == 401


@pytest.mark.parametrize(
    ("form", "code"),
    [({"PhoneNumber": ""}, 21452), ({"PhoneNumber": "abc"}, 21421),
     ({"SmsUrl": "ftp://x"}, 21502), ({"SmsUrl": "http://[x/sms"}, 21502),
     ({"SmsMethod": "PUT"}, 21501)],
)
async def test_phone_number_errors(client, form, code) -> None:
    data = {"PhoneNumber": NUMBER, "SmsUrl": "http://example.com/sms", **form}
    resp = await client.post(f"{API}/IncomingPhoneNumbers.json", data=data, headers=AUTH)
    assert resp.status == 400 and (await resp.json())["code"] == code
