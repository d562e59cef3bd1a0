"""The store fixture: every contract test runs against each backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.state.base import StateStore
from gateway.state.memory import MemoryStore


@pytest.fixture(params=["memory"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    backend: StateStore = MemoryStore(max_entries=1000)
    yield backend
    await backend.close()


@pytest.fixture
def key() -> str:
    # Fresh per test, so tests sharing one server never see each other's keys.
    return f"t:{uuid.uuid4().hex}"
