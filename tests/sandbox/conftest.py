"""Fixtures of the sandbox tests: a sandbox app with an instant clock, an authenticated client,
and a receiver server that records the callbacks and webhooks the sandbox makes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.sandbox.app import create_sandbox_app
from tests.support.auth import basic_auth

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "sandbox-token-1"
OTHER_ACCOUNT = "AC" + "fedcba9876543210" * 2
OTHER_TOKEN = "sandbox-token-2"
API = f"/2010-04-01/Accounts/{ACCOUNT}"


def basic(username: str = ACCOUNT, password: str = TOKEN) -> dict[str, str]:
    return basic_auth(username, password)


AUTH = basic()


@pytest.fixture
def sandbox_app() -> web.Application:
    return create_sandbox_app(tick=0)


@pytest.fixture
async def client(
    sandbox_app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    return await aiohttp_client(sandbox_app)


async def send(client: TestClient, account_path: str = API, **form: str) -> Any:
    """Create a message; returns (status, json)."""
    data = {"To": "+14155551212", "From": "+15005550006", "Body": "hello", **form}
    resp = await client.post(f"{account_path}/Messages.json", data=data, headers=AUTH)
    return resp.status, await resp.json()


@dataclass
class Received:
    method: str
    url: str
    headers: dict[str, str]
    params: list[tuple[str, str]]
    at: float = 0.0  # loop time of arrival


@dataclass
class Receiver:
    """An application the sandbox calls back: records every request, answers as told."""

    server: TestServer | None = None
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    reply: str = ""
    content_type: str = "text/plain"

    def url(self, path: str = "/hook") -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    async def handle(self, request: web.Request) -> web.Response:
        params = list((await request.post()).items()) if request.method == "POST" else []
        self.requests.append(
            Received(
                request.method,
                str(request.url),
                dict(request.headers),
                [(k, str(v)) for k, v in params],
                asyncio.get_running_loop().time(),
            )
        )
        return web.Response(status=self.status, text=self.reply, content_type=self.content_type)


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Receiver:
    rec = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    rec.server = await aiohttp_server(app)
    return rec
