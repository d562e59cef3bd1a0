"""End to end: a 2008 client -> the gateway -> the embedded sandbox (the current Messages API)
and back. Checks both the request the sandbox received and the XML the client got."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.dialects.v2008.render import LIST_ATTRIBUTES, MESSAGE_ELEMENTS
from gateway.sandbox.app import REQUEST_LOG, STORE, create_sandbox_app
from tests.v2008 import golden
from tests.v2008.conftest import ACCOUNT, AUTH, BASE
from tests.v2008.xmlutil import fields, messages, parse

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
Server = Callable[..., Awaitable[TestServer]]
Client = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def sandbox(aiohttp_server: Server) -> TestServer:
    return await aiohttp_server(create_sandbox_app(tick=0))


async def _gateway(aiohttp_client: Client, upstream: str, **settings: object) -> TestClient:
    app = create_app(Settings(**settings), upstream_url=upstream)  # type: ignore[arg-type]
    return await aiohttp_client(app)


@pytest.fixture
async def gateway(aiohttp_client: Client, sandbox: TestServer) -> TestClient:
    return await _gateway(aiohttp_client, str(sandbox.make_url("")))


async def test_hi_jenny_seed_000(gateway: TestClient, sandbox: TestServer) -> None:
    resp = await gateway.post(BASE, data=golden.SEND_BODY.encode(), headers={**AUTH, **FORM})
    assert resp.status == 201, await resp.text()
    received = sandbox.app[REQUEST_LOG].last("POST", "/Messages.json")
    assert received is not None
    assert received.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert received.form_dict() == {"To": "+15558675309", "From": "+14155551212",
                                    "Body": "Hi Jenny! want to grab dinner?"}
    root = parse(await resp.read())
    assert root.tag == "TwilioResponse" and [c.tag for c in root] == ["SMSMessage"]
    got = fields(root[0])
    assert [tag for tag, _ in got] == list(MESSAGE_ELEMENTS)
    values = dict(got)
    assert values["Sid"].startswith("SM") and len(values["Sid"]) == 34
    assert values["AccountSid"] == ACCOUNT
    assert values["To"] == "5558675309"
    assert values["From"] == "4155551212"
    assert values["Body"] == "Hi Jenny! want to grab dinner?"
    assert values["Status"] in {"queued", "sending", "sent"}
    assert values["Flags"] == "4"
    assert values["DateCreated"].endswith("+0000")
    assert resp.headers["Location"] == f"{BASE}/{values['Sid']}"

    fetched = await gateway.get(resp.headers["Location"], headers=AUTH)
    assert fetched.status == 200
    again = dict(fields(parse(await fetched.read())[0]))
    assert {k: again[k] for k in ("Sid", "To", "From", "Body", "Flags")} == {
        k: values[k] for k in ("Sid", "To", "From", "Body", "Flags")}


async def test_seed_003_post_and_list(gateway: TestClient, sandbox: TestServer) -> None:
    resp = await gateway.post(BASE, data=golden.LIST_POST_BODY.encode(), headers={**AUTH, **FORM})
    assert resp.status == 201
    assert sandbox.app[REQUEST_LOG].last("POST").form_dict()["To"] == "+14158675309"
    listing = parse(await (await gateway.get(BASE, headers=AUTH)).read())[0]
    assert listing.get("total") == "1"
    (message,) = messages(parse(await (await gateway.get(BASE, headers=AUTH)).read()))
    assert dict(message)["Body"] == "Hi Jenny u didnt return my last text whats up"


async def test_list_attributes_of_the_seed_example(gateway: TestClient,
                                                   sandbox: TestServer) -> None:
    # Seed 003's list: 69 messages, 50 a page -> page 0 of 2, start 0, end 49.
    start = datetime(2009, 10, 4, 10, 0, tzinfo=UTC)
    sandbox.app[STORE].seed(ACCOUNT, 69, start=start, step=timedelta(minutes=1),
                            to="+14158675309", from_="+16505551212", direction="outbound-reply")
    resp = await gateway.get(BASE, headers=AUTH)
    assert resp.status == 200
    listing = parse(await resp.read())[0]
    expected = parse(golden.LIST_RESPONSE)[0]
    for name in ("page", "numpages", "pagesize", "total", "start", "end"):
        assert listing.get(name) == expected.get(name), name
    assert list(listing.attrib) == list(LIST_ATTRIBUTES)
    assert len(listing) == 50
    first = dict(fields(listing[0]))
    assert (first["To"], first["From"], first["Status"], first["Flags"]) == (
        "4158675309", "6505551212", "sent", "2")
    # Newest first, as the 2008 docs say.
    assert first["DateSent"] == "Sun, 04 Oct 2009 11:08:00 +0000"

    nxt = listing.get("nextpageuri")
    assert nxt == BASE + "?Page=1&num=50" == listing.get("lastpageuri")
    second = parse(await (await gateway.get(nxt, headers=AUTH)).read())[0]
    assert (second.get("page"), second.get("start"), second.get("end")) == ("1", "50", "68")
    assert len(second) == 19 and second.get("nextpageuri") == ""
    assert second.get("previouspageuri") == BASE + "?Page=0&num=50"


async def test_list_filters_reach_the_sandbox(gateway: TestClient, sandbox: TestServer) -> None:
    day = datetime(2009, 7, 6, 12, tzinfo=UTC)
    store = sandbox.app[STORE]
    store.seed(ACCOUNT, 3, start=day - timedelta(days=1), step=timedelta(days=1),
               to="+14158675309")
    store.seed(ACCOUNT, 2, start=day, to="+16505551212")
    resp = await gateway.get(
        BASE + ".json?To=(415)+867-5309&DateSent>=2009-07-06&DateSent<=2009-07-06", headers=AUTH)
    assert resp.status == 200, await resp.text()
    listing = (await resp.json())["TwilioResponse"]["SMSMessages"]
    assert listing["total"] == "1"
    assert [m["To"] for m in listing["SMSMessage"]] == ["4158675309"]
    query = sandbox.app[REQUEST_LOG].last("GET").query_dict()
    assert query["To"] == "+14158675309"
    assert query["DateSent>"] == query["DateSent<"] == "2009-07-06"
    resp = await gateway.get(BASE + "?DateSent=2009-07-07", headers=AUTH)
    assert parse(await resp.read())[0].get("total") == "1"


async def test_unknown_message_is_a_legacy_404_with_code(gateway: TestClient) -> None:
    resp = await gateway.get(BASE + "/SM" + "0" * 32, headers=AUTH)
    assert resp.status == 404
    error = dict(fields(parse(await resp.read())[0]))
    assert error["Status"] == "404" and error["Code"] == "20404"
    assert error["MoreInfo"].endswith("/20404")


async def test_formats_end_to_end(gateway: TestClient) -> None:
    resp = await gateway.post(BASE + ".json", data=golden.SEND_BODY.encode(),
                              headers={**AUTH, **FORM})
    assert resp.status == 201 and resp.content_type == "application/json"
    message = (await resp.json())["TwilioResponse"]["SMSMessage"]
    assert message["To"] == "5558675309" and message["Flags"] == "4"
    for suffix, content_type in ((".csv", "text/csv"), (".html", "text/html"),
                                 (".Xml", "application/xml")):
        resp = await gateway.get(BASE + suffix, headers=AUTH)
        assert (resp.status, resp.content_type) == (200, content_type)
        assert "5558675309" in await resp.text()


# --- upstream failures ------------------------------------------------------------------------


def _error(body: bytes) -> dict[str, str]:
    root = parse(body)
    assert root[0].tag == "RestException"
    return dict(fields(root[0]))


async def test_upstream_unreachable_is_a_legacy_503(aiohttp_client: Client,
                                                    unused_tcp_port: int) -> None:
    gateway = await _gateway(aiohttp_client, f"http://127.0.0.1:{unused_tcp_port}")
    resp = await gateway.get(BASE, headers=AUTH)
    assert resp.status == 503
    assert _error(await resp.read())["Code"] == "20503"


async def test_upstream_timeout_is_a_legacy_504(aiohttp_client: Client,
                                                aiohttp_server: Server) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    upstream = web.Application()
    upstream.router.add_route("*", "/{tail:.*}", slow)
    server = await aiohttp_server(upstream)
    gateway = await _gateway(aiohttp_client, str(server.make_url("")), upstream_timeout=0.3,
                             upstream_retries=0)
    resp = await gateway.get(BASE + "/SM" + "0" * 32, headers=AUTH)
    assert resp.status == 504
    error = _error(await resp.read())
    assert error["Code"] == "20504" and "did not answer in time" in error["Message"]
    resp = await gateway.post(BASE, data=golden.SEND_BODY.encode(), headers={**AUTH, **FORM})
    assert resp.status == 504
    assert _error(await resp.read())["Code"] == "20505"  # the send's outcome is unknown


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b"[1, 2"])
async def test_upstream_garbage_is_a_legacy_502(aiohttp_client: Client, aiohttp_server: Server,
                                                body: bytes) -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html")

    upstream = web.Application()
    upstream.router.add_route("*", "/{tail:.*}", garbage)
    server = await aiohttp_server(upstream)
    gateway = await _gateway(aiohttp_client, str(server.make_url("")))
    for resp in (await gateway.get(BASE, headers=AUTH),
                 await gateway.get(BASE + "/SM" + "0" * 32, headers=AUTH)):
        assert resp.status == 502
        assert _error(await resp.read())["Code"] == "20502"
