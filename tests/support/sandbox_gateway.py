"""Fixtures for tests of a whole gateway before the embedded sandbox: import them into the test
module (``from tests.support.sandbox_gateway import make_gateway, sandbox``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.sandbox.app import create_sandbox_app

MakeGateway = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def sandbox(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> TestServer:
    return await aiohttp_server(create_sandbox_app(tick=0))


@pytest.fixture
def make_gateway(
    aiohttp_client: Callable[..., Awaitable[TestClient]], sandbox: TestServer
) -> MakeGateway:
    """A gateway client in front of ``sandbox``; keyword arguments are Settings fields."""

    async def make(**settings: Any) -> TestClient:
        app = create_app(Settings(**settings), upstream_url=str(sandbox.make_url("")))
        return await aiohttp_client(app)

    return make
