"""Every error the sandbox answers: Twilio's code, HTTP status and JSON shape; never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.sandbox.app import STORE
from tests.sandbox.conftest import (
    ACCOUNT,
    API,
    AUTH,
    OTHER_ACCOUNT,
    OTHER_TOKEN,
    TOKEN,
    basic,
    send,
)
from tests.sandbox.schemas import validate

CREATE_ERRORS = [
    # (form overrides, code) ; the base form is To/From/Body valid
    ({"To": ""}, 21604),
    ({"From": ""}, 21603),
    ({"Body": ""}, 21602),
    ({"To": "(xxx) xxx-xxx"}, 21211),
    ({"To": "+1234"}, 21211),
    ({"From": "(xxx) xxx-xxx"}, 21212),
    ({"From": "+999"}, 21212),
    ({"Body": "x" * 1601}, 21617),
    ({"To": "+15005550001"}, 21211),
    ({"To": "+15005550002"}, 21612),
    ({"To": "+15005550003"}, 21408),
    ({"To": "+15005550004"}, 21610),
    ({"To": "+15005550009"}, 21614),
    ({"From": "+15005550001"}, 21212),
    ({"From": "+15005550007"}, 21606),
    ({"From": "+15005550008"}, 21611),
    ({"StatusCallback": "not a url"}, 21609),
    ({"StatusCallback": "http://[::1"}, 21609),  # urlsplit raises: was a 500
    ({"StatusCallback": "http://example.com:99999/cb"}, 21609),
    ({"MediaUrl": "http://[zz/cat.png"}, 21620),
    ({"From": "", "MessagingServiceSid": "MGnope"}, 21701),
]


@pytest.mark.parametrize(("override", "code"), CREATE_ERRORS)
async def test_create_errors(client, sandbox_app, override, code) -> None:
    status, body = await send(client, **override)
    assert (status, body["code"]) == (400, code)
    validate("error", body)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert sandbox_app[STORE].count() == 0


@pytest.mark.parametrize(
    "override",
    [
        {"To": "555-867-5309"},  # possible, not valid: the seed example must be sendable
        {"To": "(415) 555-1212"},
        {"To": "+44 20 7946 0958"},
        {"To": "12345"},  # short code
        {"From": "12345"},
        {"From": "MyCompany"},  # alphanumeric sender ID
        {"Body": "x" * 1600},
        {"Body": "", "MediaUrl": "https://example.com/cat.png"},
        {"From": "", "MessagingServiceSid": "MG" + "a" * 32},
        {"ApplicationSid": "AP" + "b" * 32},
    ],
)
async def test_create_accepts(client, override) -> None:
    status, body = await send(client, **override)
    assert status == 201, body
    validate("message", body)


async def test_media_message_is_an_mms(client) -> None:
    status, body = await send(client, Body="", MediaUrl="https://example.com/cat.png")
    assert status == 201
    assert body["sid"].startswith("MM") and body["num_media"] == "1"


async def test_missing_credentials_get_a_basic_challenge(client) -> None:
    resp = await client.get(f"{API}/Messages.json")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
    body = await resp.json()
    assert body["code"] == 20003
    validate("error", body)


@pytest.mark.parametrize(
    "headers",
    [
        basic("ACnot-a-sid", TOKEN),
        basic(ACCOUNT, ""),
        {"Authorization": "Basic !!!notbase64"},
        {"Authorization": "Bearer abc"},
    ],
)
async def test_malformed_credentials(client, headers) -> None:
    resp = await client.get(f"{API}/Messages.json", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["code"] == 20003


async def test_first_token_wins_later_other_token_is_refused(client) -> None:
    ok = await client.get(f"{API}/Messages.json", headers=AUTH)
    assert ok.status == 200
    resp = await client.get(f"{API}/Messages.json", headers=basic(ACCOUNT, "another-token"))
    assert resp.status == 401
    assert (await resp.json())["code"] == 20003
    again = await client.get(f"{API}/Messages.json", headers=AUTH)
    assert again.status == 200


async def test_path_account_must_be_the_authenticated_one(client) -> None:
    resp = await client.get(
        f"/2010-04-01/Accounts/{OTHER_ACCOUNT}/Messages.json", headers=AUTH
    )
    assert resp.status == 403
    assert (await resp.json())["code"] == 20003


async def test_another_accounts_message_is_not_found(client) -> None:
    _, mine = await send(client)
    other = basic(OTHER_ACCOUNT, OTHER_TOKEN)
    resp = await client.get(
        f"/2010-04-01/Accounts/{OTHER_ACCOUNT}/Messages/{mine['sid']}.json", headers=other
    )
    assert resp.status == 404
    assert (await resp.json())["code"] == 20404
    listing = await client.get(f"/2010-04-01/Accounts/{OTHER_ACCOUNT}/Messages.json",
                               headers=other)
    assert (await listing.json())["messages"] == []


async def test_unknown_message_and_route(client) -> None:
    resp = await client.get(f"{API}/Messages/SM{'f' * 32}.json", headers=AUTH)
    assert resp.status == 404 and (await resp.json())["code"] == 20404
    resp = await client.get("/2010-04-01/Nothing.json")
    assert resp.status == 404 and (await resp.json())["code"] == 20404


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_wrong_method(client, method) -> None:
    resp = await client.request(method, f"{API}/Messages.json", headers=AUTH)
    assert resp.status == 405
    body = await resp.json()
    assert body["code"] == 20004
    validate("error", body)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"PageSize": "0"}, 20001),
        ({"PageSize": "1001"}, 20001),
        ({"PageSize": "ten"}, 20001),
        ({"Page": "-1"}, 20001),
        ({"DateSent": "yesterday"}, 20001),
        ({"DateSent<": "2020-13-45"}, 20001),
        ({"PageToken": "garbage"}, 21481),
        ({"PageToken": "PA!!!"}, 21481),
        ({"PageToken": "PAeDoxOjI6Mw"}, 21481),  # valid base64, wrong direction
        ({"PageToken": "PAbjox"}, 21481),  # too few parts
    ],
)
async def test_list_parameter_errors(client, query, code) -> None:
    resp = await client.get(f"{API}/Messages.json", params=query, headers=AUTH)
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == code
    validate("error", body)


async def test_undecodable_form_is_a_400_not_a_500(client) -> None:
    resp = await client.post(
        f"{API}/Messages.json",
        data=b"To=%ZZ&Body=\xff\xfe",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert resp.status in (201, 400)
    validate("message" if resp.status == 201 else "error", await resp.json())



async def test_unknown_charset_is_a_400_not_a_500(client) -> None:
    # Found by the gateway's HTTP fuzzing through the passthrough: Python has no codec "bogus".
    resp = await client.post(
        f"{API}/Messages.json",
        data=b"To=4155551212&From=4155550000&Body=hi",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded; charset=bogus"},
    )
    assert resp.status == 400
    body = await resp.json()
    validate("error", body)
    assert body["code"] == 20001


_text = st.text(max_size=40)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["To", "From", "Body", "MediaUrl",
                                             "MessagingServiceSid", "StatusCallback"]), _text))
async def test_any_form_gets_201_or_a_twilio_error(client, form) -> None:
    resp = await client.post(f"{API}/Messages.json", data=form, headers=AUTH)
    body = await resp.json()
    if resp.status == 201:
        validate("message", body)
    else:
        assert resp.status == 400, body
        validate("error", body)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(["To", "From", "DateSent", "DateSent<",
                                              "DateSent>", "PageSize", "Page", "PageToken"]),
                             _text))
async def test_any_list_query_gets_200_or_a_twilio_error(client, query) -> None:
    for path in (f"{API}/Messages.json", f"{API}/SMS/Messages.json"):
        resp = await client.get(path, params=query, headers=AUTH)
        body = await resp.json()
        assert resp.status in (200, 400), body
        if resp.status == 400:
            validate("error", body)
