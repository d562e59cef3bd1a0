"""Every async test here runs twice: on asyncio's default event loop and on uvloop, which the
gateway runs on in production (pytest-asyncio's loop-factory hook parametrizes them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from gateway.upstream.transport import Pool


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop
    }
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the test extra
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories


MakePool = Callable[..., Pool]


@pytest.fixture
async def pools() -> AsyncIterator[MakePool]:
    """Pools made by a test, closed after it."""
    made: list[Pool] = []

    def make(base_url: str, **kwargs: Any) -> Pool:
        pool = Pool(base_url, **kwargs)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        await pool.close()
