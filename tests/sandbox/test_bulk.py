"""The sandbox's scale knobs (docs/sandbox.md): a per-request latency and bulk seeding."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import ConfigError, Settings, load_settings
from gateway.sandbox.app import STORE, create_sandbox_app
from gateway.sandbox.bulk import LATENCY, TO_NUMBERS
from tests.support.auth import basic_auth

SEEDED = "AC" + "e" * 32
OTHER = "AC" + "f" * 32


async def test_seeded_accounts_and_latency(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    settings = Settings(sandbox_seed=f"{SEEDED}:1200, {OTHER}:3", sandbox_latency=0.05)
    app = create_sandbox_app(settings)
    store = app[STORE]
    assert (store.count(SEEDED), store.count(OTHER)) == (1200, 3)
    messages = store.all(SEEDED)
    assert {m.to for m in messages} <= set(TO_NUMBERS) and len({m.to for m in messages}) > 1
    assert any(m.date_sent is None for m in messages)  # a few never sent
    client = await aiohttp_client(app)
    started = time.monotonic()
    resp = await client.get(
        f"/2010-04-01/Accounts/{SEEDED}/Messages.json", params={"PageSize": "1000"},
        headers=basic_auth(SEEDED, "any-token"),
    )
    assert resp.status == 200
    assert len((await resp.json())["messages"]) == 1000
    assert time.monotonic() - started >= 0.05  # the configured round trip
    app[LATENCY].seconds = 0.0  # changeable while running
    resp = await client.get("/healthz")
    assert resp.status == 200


@pytest.mark.parametrize("spec", ["AC123:10", f"{SEEDED}", f"{SEEDED}:ten", f"{SEEDED}:-1"])
def test_a_bad_seed_spec_is_a_configuration_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="sandbox_seed"):
        load_settings(env={"SANDBOX_SEED": spec})


def test_latency_is_bounded() -> None:
    with pytest.raises(ConfigError, match="sandbox_latency"):
        load_settings(env={"SANDBOX_LATENCY": "-1"})
