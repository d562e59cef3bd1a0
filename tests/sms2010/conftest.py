"""Fixtures for the 2010-04-01 /SMS/Messages dialect: the embedded sandbox as upstream and a
gateway in front of it, in either upstream mode (``messages`` or ``sms2010``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.sandbox.app import create_sandbox_app
from tests.support.auth import basic_auth

ACCOUNT = "AC5ef872f6da5a21de157d80997a64bd33"  # seed 001's account
TOKEN = "secret-token"
AUTH = basic_auth(ACCOUNT, TOKEN)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BASE_2010 = f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages"
BASE_2008 = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
UPSTREAM_MODES = ("messages", "sms2010")

Server = Callable[..., Awaitable[TestServer]]
Client = Callable[..., Awaitable[TestClient]]
MakeGateway = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def sandbox(aiohttp_server: Server) -> TestServer:
    return await aiohttp_server(create_sandbox_app(tick=0))


@pytest.fixture
def make_gateway(aiohttp_client: Client, sandbox: TestServer) -> MakeGateway:
    """A gateway client in front of ``sandbox``; keyword arguments are Settings fields."""

    async def make(**settings: Any) -> TestClient:
        app = create_app(Settings(**settings), upstream_url=str(sandbox.make_url("")))
        return await aiohttp_client(app)

    return make


@pytest.fixture(params=UPSTREAM_MODES)
def upstream_api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def gateway(make_gateway: MakeGateway, upstream_api: str) -> TestClient:
    return await make_gateway(upstream_api=upstream_api)
