"""The current-API passthrough: /2010-04-01/ paths that are not /SMS/ reach the configured
upstream untouched, and only it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from gateway.app import create_app
from gateway.config import Settings
from gateway.passthrough import forwardable_path, request_headers, response_headers
from gateway.sandbox.app import REQUEST_LOG
from tests.sms2010.conftest import ACCOUNT, AUTH, FORM

CURRENT = f"/2010-04-01/Accounts/{ACCOUNT}/Messages"
Server = Callable[..., Awaitable[TestServer]]
Client = Callable[..., Awaitable[TestClient]]


async def test_send_fetch_list_through_equal_the_sandbox_itself(
    gateway: TestClient, sandbox: TestServer
) -> None:
    form = "To=%2B14159352345&From=%2B14158141829&Body=Jenny+please%3F%21"
    resp = await gateway.post(CURRENT + ".json", data=form, headers={**AUTH, **FORM})
    assert resp.status == 201
    assert resp.headers["Content-Type"].startswith("application/json")
    sent = await resp.json()
    received = sandbox.app[REQUEST_LOG].last("POST")
    assert received is not None and received.path == CURRENT + ".json"
    assert received.form == (("To", "+14159352345"), ("From", "+14158141829"),
                             ("Body", "Jenny please?!"))
    assert list(sent)[:3] == ["body", "num_segments", "direction"]  # the current shape, as is

    async with TestClient(sandbox) as direct:
        for path in (f"{CURRENT}/{sent['sid']}.json", f"{CURRENT}.json?PageSize=1&To=%2B14159352345"):
            through = await gateway.get(path, headers=AUTH)
            straight = await direct.get(path, headers=AUTH)
            assert through.status == straight.status == 200
            assert await through.read() == await straight.read()
    assert sandbox.app[REQUEST_LOG].last("GET").query_dict() == {
        "PageSize": "1", "To": "+14159352345"}


async def test_upstream_errors_come_back_as_they_are(gateway: TestClient) -> None:
    resp = await gateway.get(f"{CURRENT}.json")  # no credentials: upstream's own 401
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
    body = await resp.json()
    assert list(body) == ["code", "message", "more_info", "status"]  # the current API's order
    resp = await gateway.get(f"{CURRENT}/SM{'0' * 32}.json", headers=AUTH)
    assert resp.status == 404 and (await resp.json())["code"] == 20404


@dataclass
class Echo:
    """An upstream that records what reached it and answers with configurable extras."""

    seen: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    answer: bytes = b'{"ok": true}'

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        self.bodies.append(await request.read())
        return web.Response(
            body=self.answer, status=202, content_type="application/json",
            headers={"Connection": "keep-alive, X-Hop", "X-Hop": "1", "Keep-Alive": "timeout=5",
                     "X-End-To-End": "kept"},
        )


@pytest.fixture
async def echo(aiohttp_server: Server) -> tuple[Echo, TestServer]:
    echo = Echo()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo.handle)
    return echo, await aiohttp_server(app)


async def _gateway_to(aiohttp_client: Client, server: TestServer, **settings: object) -> TestClient:
    app = create_app(Settings(**settings), upstream_url=str(server.make_url("")))  # type: ignore[arg-type]
    return await aiohttp_client(app)


async def test_untouched_and_never_steerable(
    aiohttp_client: Client, echo: tuple[Echo, TestServer]
) -> None:
    recorder, server = echo
    gateway = await _gateway_to(aiohttp_client, server)
    # Sent exactly as written (the test client's own URL handling would re-normalise %2F).
    url = URL(str(gateway.make_url("/2010-04-01/Accounts.json")) + "?FriendlyName=a+b&x=%2F",
              encoded=True)
    resp = await gateway.session.request(
        "PATCH", url, data=b"raw=body&x=%20", headers={
            **AUTH, "Content-Type": "application/x-www-form-urlencoded", "Host": "evil.example",
            "X-Custom": "1", "Connection": "X-Custom-Hop", "X-Custom-Hop": "secret",
            "Proxy-Authorization": "Basic eA==",
        })
    assert resp.status == 202 and await resp.json() == {"ok": True}
    # Hop-by-hop headers (and those the Connection header names) stay on their hop.
    assert resp.headers["X-End-To-End"] == "kept"
    assert "X-Hop" not in resp.headers and "Keep-Alive" not in resp.headers
    (seen,) = recorder.seen
    assert (seen.method, seen.raw_path) == (
        "PATCH", "/2010-04-01/Accounts.json?FriendlyName=a+b&x=%2F")
    assert recorder.bodies == [b"raw=body&x=%20"]
    assert seen.headers["Authorization"] == AUTH["Authorization"]
    assert seen.headers["X-Custom"] == "1"
    assert "X-Custom-Hop" not in seen.headers and "Proxy-Authorization" not in seen.headers
    # The Host header names the configured upstream, never the client's choice.
    assert seen.headers["Host"] == f"{server.host}:{server.port}"


@pytest.mark.parametrize(
    "path",
    [
        f"/2010-04-01/Accounts/{ACCOUNT}/%2e%2e/%2e%2e/admin",
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages%2Fx.json",
        "/2010-04-01/..%5cadmin",
        "/2010-04-01/Accounts/../../admin",
        f"/2010-04-01/Accounts/{ACCOUNT}/./Messages.json",
    ],
)
async def test_path_tricks_are_404_and_not_forwarded(
    aiohttp_client: Client, echo: tuple[Echo, TestServer], path: str
) -> None:
    recorder, server = echo
    gateway = await _gateway_to(aiohttp_client, server)
    # Sent as written: the test client would resolve the dot segments itself.
    url = URL(str(gateway.make_url("")).rstrip("/") + path, encoded=True)
    resp = await gateway.session.get(url, headers=AUTH)
    assert resp.status == 404 and recorder.seen == []


def test_forwardable_path() -> None:
    assert forwardable_path(f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    assert forwardable_path(f"/2010-04-01/Accounts/{ACCOUNT}/Calls/CA{'1' * 32}.json")
    assert forwardable_path("/2010-04-01/Accounts.json")
    assert not forwardable_path(f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages.json")
    assert not forwardable_path("/2010-04-01/Accounts/../../etc")
    assert not forwardable_path("/2010-04-01/a/./b")
    assert not forwardable_path("/2010-04-01\\x")
    assert not forwardable_path("/2008-08-01/Accounts")


def test_header_filters() -> None:
    out = request_headers({"Host": "h", "Connection": "close, X-A", "X-A": "1", "TE": "trailers",
                           "Authorization": "Basic x", "Accept": "*/*", "Content-Length": "3"})
    assert dict(out) == {"Authorization": "Basic x", "Accept": "*/*"}
    back = response_headers({"Content-Encoding": "gzip", "Content-Length": "9",
                             "Transfer-Encoding": "chunked", "Retry-After": "3"})
    assert dict(back) == {"Retry-After": "3"}


async def test_bounded_both_ways(aiohttp_client: Client, echo: tuple[Echo, TestServer]) -> None:
    recorder, server = echo
    recorder.answer = json.dumps({"x": "y" * 5000}).encode()
    gateway = await _gateway_to(
        aiohttp_client, server, upstream_max_response_bytes=1000, max_request_body=1024)
    resp = await gateway.get(f"{CURRENT}.json", headers=AUTH)
    assert resp.status == 502 and (await resp.json())["code"] == 20502
    resp = await gateway.post(f"{CURRENT}.json", data=b"x" * 4096, headers=AUTH)
    assert resp.status == 413
    assert len(recorder.seen) == 1  # the oversized request never left


async def test_upstream_down_is_503(aiohttp_client: Client, echo: tuple[Echo, TestServer]) -> None:
    _, server = echo
    gateway = await _gateway_to(aiohttp_client, server)
    await server.close()
    resp = await gateway.get(f"{CURRENT}.json", headers=AUTH)
    assert resp.status == 503
    body = await resp.json()  # the gateway's own error: the 2010 JSON shape
    assert list(body) == ["status", "message", "code", "more_info"]
    assert (body["status"], body["code"]) == (503, 20503)
