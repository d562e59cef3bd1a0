"""A world for the console tests: the sandbox (playing Twilio, tick 0), a gateway in front of
it on a known public URL with the console on, and a legacy app for webhooks to reach."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.console.install import attach_sandbox
from gateway.keys import CONSOLE
from gateway.sandbox.app import SANDBOX, create_sandbox_app
from tests.callbacks.conftest import (
    ACCOUNT,
    OTHER_ACCOUNT,
    OTHER_TOKEN,
    TOKEN,
    gateway_settings,
    legacy,
)
from tests.support.auth import basic_auth

CONSOLE_TOKEN = "console-token-for-tests-0123"
CONSOLE_AUTH = basic_auth("ops", CONSOLE_TOKEN)
SENDER = "+15005550006"
SERVER = Callable[..., Awaitable[TestServer]]

__all__ = ["ACCOUNT", "OTHER_ACCOUNT", "OTHER_TOKEN", "TOKEN", "legacy"]  # legacy: a fixture


@dataclass
class World:
    sandbox: web.Application
    gateway: web.Application
    url: str
    sandbox_url: str
    settings: Settings
    http: aiohttp.ClientSession

    async def legacy(
        self, method: str, path: str, account: str, token: str, agent: str, **kw: Any
    ) -> aiohttp.ClientResponse:
        headers = {**basic_auth(account, token), "User-Agent": agent}
        resp = await self.http.request(method, self.url + path, headers=headers, **kw)
        await resp.read()
        return resp

    async def console(self, path: str, **kw: Any) -> aiohttp.ClientResponse:
        kw.setdefault("headers", CONSOLE_AUTH)
        resp = await self.http.get(self.url + path, **kw)
        await resp.read()
        return resp

    async def add_number(self, number: str, sms_url: str) -> None:
        """Give the sandbox number an SMS URL, through the sandbox's own API."""
        async with self.http.post(
            f"{self.sandbox_url}/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers.json",
            data={"PhoneNumber": number, "SmsUrl": sms_url}, headers=basic_auth(ACCOUNT, TOKEN),
        ) as resp:
            assert resp.status == 201, await resp.text()

    async def flush(self) -> None:
        ledger = self.gateway[CONSOLE].ledger
        assert ledger is not None
        await ledger.flush()


BODY = "Meet me at the usual place 7781"
PYTHON_AGENT = "twilio-python/5.6.0 (Python 2.7.18)"
PHP_AGENT = "twilio-php/2.0.8 (PHP 5.3)"


async def traffic(world: World) -> None:
    """Two accounts, two clients, two dialects, several legacy features."""
    base1 = f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages"
    resp = await world.legacy("POST", base1 + ".json", ACCOUNT, TOKEN, PYTHON_AGENT,
                              data={"From": SENDER, "To": "+14158675309", "Body": BODY})
    assert resp.status == 201
    for query in ("?PageSize=100", "?PageSize=100&Page=1", "?DateSent>=2026-01-01&Page=4"):
        resp = await world.legacy("GET", base1 + ".json" + query, ACCOUNT, TOKEN, PYTHON_AGENT)
        assert resp.status == 200, await resp.text()
    base2 = f"/2008-08-01/Accounts/{OTHER_ACCOUNT}/SMS/Messages"
    resp = await world.legacy("POST", base2, OTHER_ACCOUNT, OTHER_TOKEN, PHP_AGENT,
                              data={"From": SENDER, "To": "(415) 867-5309", "Body": BODY})
    assert resp.status == 201
    resp = await world.legacy("POST", base2, OTHER_ACCOUNT, OTHER_TOKEN, PHP_AGENT,
                              data={"From": SENDER, "To": "4158675309", "Body": "x" * 161})
    assert resp.status == 400
    resp = await world.legacy("GET", base2 + ".csv", OTHER_ACCOUNT, OTHER_TOKEN, PHP_AGENT)
    assert resp.status == 200


async def start_world(aiohttp_server: SERVER, **changes: Any) -> tuple[World, TestServer]:
    sandbox = create_sandbox_app(tick=0)
    sandbox_server = await aiohttp_server(sandbox)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = gateway_settings(
        public_url=public, console_token=CONSOLE_TOKEN, sandbox=True,
        ledger_flush_interval=3600.0,
    )
    settings = dataclasses.replace(settings, **changes)
    sandbox_url = str(sandbox_server.make_url("")).rstrip("/")
    gateway = create_app(settings, sandbox_url)
    attach_sandbox(gateway, sandbox[SANDBOX])
    server = TestServer(gateway, socket_factory=lambda *_: sock)
    await server.start_server()
    http = aiohttp.ClientSession()
    return World(sandbox, gateway, public, sandbox_url, settings, http), server


@pytest.fixture
async def world(aiohttp_server: SERVER) -> AsyncIterator[World]:
    w, server = await start_world(aiohttp_server)
    try:
        yield w
    finally:
        await w.http.close()
        await server.close()
