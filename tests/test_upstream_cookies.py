"""The gateway keeps no cookie jar towards upstream: a cookie upstream sets while answering one
client's request never rides along on another client's (one connection pool serves every
account, so a jar would be shared between them)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Settings
from tests.ops.conftest import message_json
from tests.support.auth import basic_auth

FIRST = "AC" + "1" * 32
SECOND = "AC" + "2" * 32


async def test_an_upstream_cookie_is_not_sent_on_later_requests() -> None:
    cookies_seen: list[str | None] = []

    async def fetch(request: web.Request) -> web.Response:
        cookies_seen.append(request.headers.get("Cookie"))
        resp = web.json_response(message_json())
        resp.set_cookie("lb", "node-7-" + request.match_info["acc"], path="/")
        return resp

    upstream_app = web.Application()
    upstream_app.router.add_get("/2010-04-01/Accounts/{acc}/Messages/{sid}.json", fetch)
    async with TestServer(upstream_app, host="127.0.0.1") as upstream:
        gateway = create_app(Settings(), str(upstream.make_url("")).rstrip("/"))
        async with TestClient(TestServer(gateway)) as client:
            for account in (FIRST, SECOND, FIRST):
                resp = await client.get(
                    f"/2008-08-01/Accounts/{account}/SMS/Messages/SM{'a' * 32}",
                    headers=basic_auth(account, "token"),
                )
                assert resp.status == 200, await resp.text()
    assert cookies_seen == [None, None, None]
