"""A 2010 send's StatusCallback, end to end in both upstream modes: the sandbox (playing
Twilio) calls the gateway's relay, and the legacy URL gets the 2010 callback once, signed."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.sandbox.app import LIFECYCLE
from tests.callbacks.conftest import ACCOUNT, TOKEN, LegacyApp, gateway_settings
from tests.sms2010.conftest import UPSTREAM_MODES

Server = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def legacy(aiohttp_server: Server) -> LegacyApp:
    app = LegacyApp()
    web_app = web.Application()
    web_app.router.add_route("*", "/{tail:.*}", app.handle)
    app.base = str((await aiohttp_server(web_app)).make_url("")).rstrip("/")
    return app


@pytest.mark.parametrize("upstream_api", UPSTREAM_MODES)
async def test_status_callback_reaches_the_legacy_app_in_2010_form(
    aiohttp_server: Server, sandbox: TestServer, legacy: LegacyApp, upstream_api: str
) -> None:
    # The sandbox calls the gateway's public URL, so it must be the gateway's real address.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = gateway_settings(public_url=public, upstream_api=upstream_api)
    server = TestServer(create_app(settings, str(sandbox.make_url("")).rstrip("/")),
                        socket_factory=lambda *_: sock)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.post(
            f"{public}/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages.json",
            data={"From": "+15005550006", "To": "+15005550010", "Body": "Hi Jenny!",
                  "StatusCallback": legacy.url("/status")},
            headers={"Authorization": aiohttp.encode_basic_auth(ACCOUNT, TOKEN)},
        ) as resp:
            assert resp.status == 201, await resp.text()
            sid = (await resp.json())["sid"]
        await sandbox.app[LIFECYCLE].settle()
    finally:
        await server.close()
    assert [(s.method, s.url, s.params) for s in legacy.seen] == [
        ("POST", legacy.url("/status"), [
            ("AccountSid", ACCOUNT), ("ApiVersion", "2010-04-01"), ("From", "+15005550006"),
            ("SmsSid", sid), ("SmsStatus", "sent"), ("To", "+15005550010"),
        ])
    ]
    assert legacy.seen[0].valid  # re-signed for the legacy URL with the account's token
