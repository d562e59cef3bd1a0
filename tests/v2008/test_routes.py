"""The 2008 dialect over HTTP, against an in-memory upstream: every status code, format and
error path of the handlers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from lxml import html

from gateway import keys
from gateway.dialects.v2008.render import MESSAGE_ELEMENTS
from gateway.model import ApiError, ListQuery, SendRequest
from tests.v2008 import golden
from tests.v2008.conftest import ACCOUNT, AUTH, BASE, FakeUpstream, MakeClient
from tests.v2008.xmlutil import fields, parse

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _send(  # type: ignore[no-untyped-def]
    client: TestClient, body: str, path: str = BASE, **headers: str
):
    return await client.post(path, data=body.encode(), headers={**AUTH, **FORM, **headers})


async def test_send_golden_seed_000(client: TestClient, fake: FakeUpstream) -> None:
    resp = await _send(client, golden.SEND_BODY)
    assert resp.status == 201
    assert resp.content_type == "application/xml"
    (op, req), = fake.calls
    assert op == "create" and isinstance(req, SendRequest)
    assert (req.to, req.from_, req.body) == ("+15558675309", "+14155551212",
                                              "Hi Jenny! want to grab dinner?")
    root = parse(await resp.read())
    got = fields(root[0])
    assert root.tag == "TwilioResponse" and root[0].tag == "SMSMessage"
    assert [tag for tag, _ in got] == list(MESSAGE_ELEMENTS)
    values = dict(got)
    assert values["To"] == "5558675309" and values["From"] == "4155551212"
    assert values["Body"] == "Hi Jenny! want to grab dinner?"
    assert values["Status"] == "queued" and values["Flags"] == "4"
    assert values["DateSent"] == ""
    assert resp.headers["Location"] == f"{BASE}/{values['Sid']}"


async def test_send_golden_seed_003_post(client: TestClient, fake: FakeUpstream) -> None:
    resp = await _send(client, golden.LIST_POST_BODY)
    assert resp.status == 201
    req = fake.calls[0][1]
    assert isinstance(req, SendRequest)
    assert (req.to, req.from_) == ("+14158675309", "+16505551212")
    assert req.body == "Hi Jenny u didnt return my last text whats up"
    values = dict(fields(parse(await resp.read())[0]))
    assert (values["To"], values["From"]) == ("4158675309", "6505551212")


async def test_send_then_fetch_and_list(client: TestClient, fake: FakeUpstream) -> None:
    created = await _send(client, golden.SEND_BODY)
    location = created.headers["Location"]
    resp = await client.get(location, headers=AUTH)
    assert resp.status == 200
    assert fields(parse(await resp.read())[0]) == fields(parse(await created.read())[0])
    resp = await client.get(BASE, headers=AUTH)
    assert resp.status == 200
    listing = parse(await resp.read())[0]
    assert listing.tag == "SMSMessages"
    names = ("page", "numpages", "pagesize", "total", "start", "end")
    assert {k: listing.get(k) for k in names} == {
        "page": "0", "numpages": "1", "pagesize": "50", "total": "1", "start": "0", "end": "0"}
    assert len(listing) == 1


async def test_list_forwards_normalised_filters_and_paging(client: TestClient,
                                                           fake: FakeUpstream) -> None:
    resp = await client.get(
        BASE + "?To=(415)+555-1212&From=650-555-1212&DateSent>=2009-07-06&DateSent<=2009-07-31"
        "&Page=2&num=5000", headers=AUTH,
    )
    assert resp.status == 200
    query = fake.calls[0][1]
    assert isinstance(query, ListQuery)
    assert (query.filter.to, query.filter.from_) == ("+14155551212", "+16505551212")
    assert (query.filter.date_sent_after, query.filter.date_sent_before) == (
        date(2009, 7, 6), date(2009, 7, 31))
    assert (query.page, query.page_size) == (2, 1000)
    listing = parse(await resp.read())[0]
    assert listing.get("uri") == (
        BASE + "?To=%2B14155551212&From=%2B16505551212&DateSent%3C=2009-07-31"
        "&DateSent%3E=2009-07-06&Page=2&num=1000")
    assert listing.get("previouspageuri").endswith("&Page=1&num=1000")


async def test_list_links_follow_back_to_the_same_list(client: TestClient,
                                                       fake: FakeUpstream) -> None:
    for _ in range(3):
        await _send(client, "To=4158675309&From=6505551212&Body=x")
    resp = await client.get(BASE + ".json?To=415-867-5309&num=2", headers=AUTH)
    listing = (await resp.json())["TwilioResponse"]["SMSMessages"]
    assert (listing["total"], listing["numpages"], len(listing["SMSMessage"])) == ("3", "2", 2)
    resp = await client.get(listing["nextpageuri"], headers=AUTH)
    second = (await resp.json())["TwilioResponse"]["SMSMessages"]
    assert second["page"] == "1" and len(second["SMSMessage"]) == 1
    assert second["nextpageuri"] == "" and second["lastpageuri"] == listing["nextpageuri"]


async def test_list_without_a_total(client: TestClient, fake: FakeUpstream) -> None:
    fake.total_known = False
    listing = parse(await (await client.get(BASE, headers=AUTH)).read())[0]
    assert listing.get("total") is None and listing.get("numpages") is None
    assert listing.get("lastpageuri") is None and listing.get("page") == "0"


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [("", "application/xml"), (".xml", "application/xml"), (".Xml", "application/xml"),
     (".json", "application/json"), (".JSON", "application/json"), (".csv", "text/csv"),
     (".html", "text/html")],
)
async def test_every_format(client: TestClient, suffix: str, content_type: str) -> None:
    created = await _send(client, golden.SEND_BODY, BASE + suffix)
    assert created.status == 201 and created.content_type == content_type
    fmt = suffix.lower().lstrip(".") or None
    sid = created.headers["Location"].rsplit("/", 1)[1].split(".")[0]
    assert created.headers["Location"] == f"{BASE}/{sid}" + (f".{fmt}" if fmt else "")
    for resp in (await client.get(created.headers["Location"], headers=AUTH),
                 await client.get(BASE + suffix, headers=AUTH)):
        assert resp.status == 200 and resp.content_type == content_type
        body = await resp.read()
        if content_type == "application/json":
            doc = json.loads(body)["TwilioResponse"]
            message = doc.get("SMSMessage") or doc["SMSMessages"]["SMSMessage"][0]
            assert list(message) == list(MESSAGE_ELEMENTS) and message["To"] == "5558675309"
        elif content_type == "text/csv":
            rows = list(csv.reader(io.StringIO(body.decode())))
            assert rows[0] == list(MESSAGE_ELEMENTS) and rows[1][5] == "5558675309"
        elif content_type == "text/html":
            assert [td.text for td in html.fromstring(body).iter("td")][-5] == "5558675309"
        else:
            assert parse(body).find(".//To").text == "5558675309"


# --- errors -----------------------------------------------------------------------------------


def _error(body: bytes) -> list[tuple[str, str]]:
    root = parse(body)
    assert root.tag == "TwilioResponse" and root[0].tag == "RestException"
    return fields(root[0])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("From=4155551212&Body=x", 21604),
        ("To=4155551212&Body=x", 21603),
        ("To=4155551212&From=4155551212", 21602),
        ("To=(xxx)+xxx-xxx&From=4155551212&Body=x", 21211),
        ("To=4155551212&From=1234&Body=x", 21212),
        ("To=4155551212&From=4155551212&Body=" + "x" * 161, 21605),
    ],
)
async def test_send_errors_never_reach_upstream(client: TestClient, fake: FakeUpstream,
                                                body: str, code: int) -> None:
    resp = await _send(client, body)
    assert resp.status == 400
    error = _error(await resp.read())
    assert [name for name, _ in error] == ["Status", "Message", "Code", "MoreInfo"]
    assert dict(error) | {"Message": ""} == {
        "Status": "400", "Message": "", "Code": str(code),
        "MoreInfo": f"https://www.twilio.com/docs/errors/{code}"}
    assert dict(error)["Message"]
    assert fake.calls == []


async def test_body_limit_setting(make_client: MakeClient, fake: FakeUpstream) -> None:
    client = await make_client(body_limit=1600)
    assert (await _send(client, "To=4155551212&From=4155551212&Body=" + "x" * 1600)).status == 201
    assert (await _send(client, "To=4155551212&From=4155551212&Body=" + "x" * 1601)).status == 400


async def test_bad_list_parameters(client: TestClient, fake: FakeUpstream) -> None:
    for query, code in (("DateSent=2009-99-01", "20001"), ("num=0", "20001"),
                        ("Page=-1", "20001"), ("To=nonsense", "21211")):
        resp = await client.get(f"{BASE}.json?{query}", headers=AUTH)
        assert resp.status == 400
        assert (await resp.json())["TwilioResponse"]["RestException"]["Code"] == code
    assert fake.calls == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer abc"},
     {"Authorization": "Basic " + "QUMxMjM="}],  # "AC123" with no password
)
async def test_401_challenge(client: TestClient, fake: FakeUpstream,
                             headers: dict[str, str]) -> None:
    for resp in (await client.get(BASE, headers=headers),
                 await client.post(BASE, data="To=1", headers=headers),
                 await client.get(BASE + "/SM" + "1" * 32 + ".json", headers=headers)):
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
    assert dict(_error(await (await client.get(BASE, headers=headers)).read()))["Code"] == "20003"
    assert fake.calls == []


async def test_upstream_401_also_challenges(client: TestClient, fake: FakeUpstream) -> None:
    fake.fail = ApiError(401, "Authenticate", 20003)
    resp = await client.get(BASE, headers=AUTH)
    assert resp.status == 401 and resp.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", BASE + "/SM872fb94e3b358913777cdb313f25b46f", "GET"),
        ("PUT", BASE + "/SM872fb94e3b358913777cdb313f25b46f", "GET"),
        ("DELETE", BASE + "/SM872fb94e3b358913777cdb313f25b46f.json", "GET"),
        ("PUT", BASE, "GET, POST"),
        ("DELETE", BASE, "GET, POST"),
        ("PATCH", BASE + ".xml", "GET, POST"),
    ],
)
async def test_405(client: TestClient, fake: FakeUpstream, method: str, path: str,
                   allow: str) -> None:
    resp = await client.request(method, path, headers=AUTH)
    assert resp.status == 405
    assert resp.headers["Allow"] == allow
    body = await resp.read()
    if path.endswith(".json"):
        assert json.loads(body)["TwilioResponse"]["RestException"]["Status"] == "405"
    else:
        assert dict(_error(body))["Status"] == "405"
    assert fake.calls == []


@pytest.mark.parametrize(
    "path",
    [
        "/2008-08-01/Accounts/" + ACCOUNT + "/Calls",
        "/2008-08-01/Accounts/" + ACCOUNT + "/SMS/Messages.pdf",
        "/2008-08-01/Accounts/" + ACCOUNT + "/SMS/messages",
        "/2008-08-01/Accounts/AC123/SMS/Messages",
        "/2008-08-01/Accounts/" + ACCOUNT + "/SMS/Messages/nope",
        "/2008-08-01/Accounts/" + ACCOUNT + "/SMS/Messages/SM1/Media",
        "/2008-08-01",
        "/2008-08-01/",
    ],
)
async def test_404(client: TestClient, fake: FakeUpstream, path: str) -> None:
    resp = await client.get(path)  # no credentials needed to learn a path does not exist
    assert resp.status == 404
    assert _error(await resp.read()) == [("Status", "404"),
                                         ("Message", "The requested resource was not found")]
    assert fake.calls == []


async def test_404_in_the_paths_format(client: TestClient) -> None:
    resp = await client.get("/2008-08-01/Accounts/" + ACCOUNT + "/Calls.json")
    assert resp.status == 404
    assert (await resp.json()) == {"TwilioResponse": {"RestException": {
        "Status": "404", "Message": "The requested resource was not found"}}}


async def test_unknown_message_is_upstreams_404(client: TestClient) -> None:
    resp = await client.get(BASE + "/SM00000000000000000000000000000000", headers=AUTH)
    assert resp.status == 404
    assert dict(_error(await resp.read()))["Code"] == "20404"


@pytest.mark.parametrize(
    ("err", "status"),
    [
        (ApiError(400, "The From phone number is not SMS-capable", 21606,
                  "https://www.twilio.com/docs/errors/21606"), 400),
        (ApiError(503, "The upstream Twilio API could not be reached", 20503), 503),
        (ApiError(504, "The upstream Twilio API did not answer in time", 20505), 504),
        (ApiError(502, "The upstream answered with something that is not JSON", 20502), 502),
        (ApiError(429, "Too many requests", 20429), 429),
    ],
)
async def test_upstream_errors_are_carried_over(client: TestClient, fake: FakeUpstream,
                                                err: ApiError, status: int) -> None:
    fake.fail = err
    for resp in (await _send(client, golden.SEND_BODY), await client.get(BASE, headers=AUTH)):
        assert resp.status == status
        assert _error(await resp.read()) == [("Status", str(status)), ("Message", err.message),
                                             ("Code", str(err.code)), ("MoreInfo", err.more_info)]


async def test_unexpected_failure_is_a_legacy_500(client: TestClient, fake: FakeUpstream,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    fake.fail = RuntimeError("secret-token Hi Jenny")  # type: ignore[assignment]
    resp = await _send(client, golden.SEND_BODY)
    assert resp.status == 500
    body = await resp.read()
    assert _error(body) == [("Status", "500"), ("Message", "An internal error occurred")]
    assert b"Traceback" not in body
    assert "RuntimeError" in caplog.text
    assert "secret-token" not in caplog.text and "Jenny" not in caplog.text


# --- tolerance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "api.twilio.com"},
        {"Accept": "*/*"},
        {"Accept": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
        {"Content-Type": ""},
        {"Content-Type": "text/plain"},
    ],
)
async def test_tolerated_requests(client: TestClient, fake: FakeUpstream,
                                  headers: dict[str, str]) -> None:
    resp = await client.post(BASE, data=b"From=415-555-1212&To=555-867-5309&Body=Hi%20Jenny+x",
                             headers={**AUTH, **headers})
    assert resp.status == 201, await resp.text()
    assert fake.calls[0][1].body == "Hi Jenny x"  # type: ignore[union-attr]
    resp = await client.get(BASE + "?", headers={**AUTH, **headers})
    assert resp.status == 200


async def test_latin1_body(client: TestClient, fake: FakeUpstream) -> None:
    resp = await client.post(
        BASE, data=b"From=4155551212&To=4158675309&Body=Caf%E9",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"},
    )
    assert resp.status == 201
    assert fake.calls[0][1].body == "Caf\u00e9"  # type: ignore[union-attr]


async def test_multipart_form(client: TestClient, fake: FakeUpstream) -> None:
    resp = await client.post(BASE, data={"From": "4155551212", "To": "4158675309", "Body": "x"},
                             headers=AUTH)
    assert resp.status == 201
    import aiohttp

    form = aiohttp.FormData()
    for key, value in (("From", "4155551212"), ("To", "4158675309"), ("Body", "multi")):
        form.add_field(key, value)
    form.add_field("file", b"\x00", filename="x.bin")
    resp = await client.post(BASE, data=form, headers=AUTH)
    assert resp.status == 201
    assert fake.calls[-1][1].body == "multi"  # type: ignore[union-attr]


async def test_multipart_with_an_unknown_charset_is_read(client: TestClient,
                                                         fake: FakeUpstream) -> None:
    body = (b'--XX\r\nContent-Disposition: form-data; name="To"\r\n\r\n4155551212\r\n'
            b"--XX--\r\n")
    resp = await client.post(BASE, data=body, headers={
        **AUTH, "Content-Type": "multipart/form-data; boundary=XX; charset=bogus"})
    # The form is read (To is there), so the answer is the missing From, not a 500.
    assert resp.status == 400
    assert b"<Code>21603</Code>" in await resp.read()
    assert fake.calls == []


async def test_status_callback_is_forwarded_unchanged(client: TestClient,
                                                      fake: FakeUpstream) -> None:
    callback = "&StatusCallback=https%3A%2F%2Fapp.example%2Fsms%3Fid%3D7"
    await _send(client, golden.SEND_BODY + callback)
    req = fake.calls[0][1]
    assert isinstance(req, SendRequest) and req.status_callback == "https://app.example/sms?id=7"


async def test_number_format_settings(make_client: MakeClient) -> None:
    for fmt, to, from_ in (("national", "5558675309", "4155551212"),
                           ("e164", "+15558675309", "+14155551212"),
                           ("as-sent", "555-867-5309", "415-555-1212")):
        client = await make_client(number_format=fmt)
        created = await _send(client, golden.SEND_BODY)
        values = dict(fields(parse(await created.read())[0]))
        assert (values["To"], values["From"]) == (to, from_)
        fetched = await client.get(created.headers["Location"], headers=AUTH)
        values = dict(fields(parse(await fetched.read())[0]))
        expected = ("5558675309", "4155551212") if fmt == "as-sent" else (to, from_)
        assert (values["To"], values["From"]) == expected


async def test_legacy_timezone_setting(make_client: MakeClient) -> None:
    client = await make_client(legacy_timezone="America/Los_Angeles")
    created = await _send(client, golden.SEND_BODY)
    assert dict(fields(parse(await created.read())[0]))["DateCreated"] == (
        "Sun, 04 Oct 2009 03:48:08 -0700")


async def test_head_is_get_without_a_body(client: TestClient) -> None:
    resp = await client.head(BASE, headers=AUTH)
    assert resp.status == 200 and await resp.read() == b""


async def test_request_context_for_logs_and_metrics(make_client: MakeClient) -> None:
    seen: list[tuple[object, ...]] = []

    @web.middleware
    async def capture(request: web.Request, handler):  # type: ignore[no-untyped-def]
        resp = await handler(request)
        seen.append(tuple(request.get(k) for k in (keys.DIALECT, keys.OPERATION,
                                                    keys.ACCOUNT_SID, keys.TWILIO_CODE)))
        return resp

    client = await make_client(middlewares=(capture,))
    await _send(client, golden.SEND_BODY)
    await client.get(BASE, headers=AUTH)
    await client.get(BASE + "/SM" + "f" * 32, headers=AUTH)
    await _send(client, "To=x")
    await client.get("/2008-08-01/nowhere")
    assert seen == [
        ("v2008", "send", ACCOUNT, None),
        ("v2008", "list", ACCOUNT, None),
        ("v2008", "fetch", ACCOUNT, 20404),
        ("v2008", "send", ACCOUNT, 21603),
        ("v2008", "not_found", None, None),
    ]
