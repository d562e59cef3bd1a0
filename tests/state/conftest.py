"""The store fixture: every contract test runs against each backend (Redis: a real server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.state.base import StateStore
from gateway.state.memory import MemoryStore
from gateway.state.redis import RedisStore
from tests.support.redis_server import RedisServer, own_redis_server, redis_server

__all__ = ["own_redis_server", "redis_server"]  # fixtures, used by name


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    backend: StateStore
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        backend = RedisStore(server.url, prefix="test:", timeout=2.0)
    else:
        backend = MemoryStore(max_entries=1000)
    yield backend
    await backend.close()


@pytest.fixture
def key() -> str:
    # Fresh per test, so tests sharing one server never see each other's keys.
    return f"t:{uuid.uuid4().hex}"
