"""The ledger on its own: what it counts, its caps and "other" buckets, paging told apart,
flushes that fail, first/last seen, retention, and two ledgers (replicas) on one store."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from gateway import keys
from gateway.config import Settings
from gateway.console import features as feat
from gateway.console import report
from gateway.console.clients import client_id, normalise_user_agent
from gateway.console.ledger import ACCOUNTS_KEY, OTHER, Ledger, clients_key, format_of
from gateway.console.view import load
from gateway.state.base import StoreUnavailable
from gateway.state.memory import MemoryStore

A1 = "AC" + "a" * 32
A2 = "AC" + "b" * 32
A3 = "AC" + "c" * 32
NOW = 1_796_300_000.0  # 2026-12-03 ~11:33 UTC


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings(**changes: Any) -> Settings:
    return dataclasses.replace(Settings(), **changes)


def observe(
    ledger: Ledger,
    account: str,
    agent: str,
    *,
    dialect: str = "v2008",
    operation: str = "fetch",
    path: str = "/2008-08-01/Accounts/x/SMS/Messages/SM1",
    status: int = 200,
    **ctx: Any,
) -> None:
    request = make_mocked_request("GET", path, headers={"User-Agent": agent})
    values: dict[Any, Any] = {
        keys.DIALECT: dialect, keys.OPERATION: operation, keys.ACCOUNT_SID: account,
    }
    for key, value in ctx.items():
        values[getattr(keys, key.upper())] = value
    ledger.observe(request, values, status, None)


def test_user_agents_are_reduced_to_product_and_major_minor() -> None:
    assert normalise_user_agent("twilio-python/5.6.0 (Python 2.7.18)") == "twilio-python/5.6"
    assert normalise_user_agent("Mozilla/5.0 (X11; Linux x86_64)") == "Mozilla/5.0"
    assert normalise_user_agent("") == "(none)"
    assert normalise_user_agent("  ()") == "(none)"
    assert normalise_user_agent("curl") == "curl"
    assert len(normalise_user_agent("x" * 500 + "/1.2")) <= 60
    # a number in a header is masked as the logs mask it
    assert "5551212" not in normalise_user_agent("14155551212/1.0")
    assert client_id("curl/8.1.2", "10.0.0.7", True) == "curl/8.1 @ 10.0.0.7"
    assert client_id("curl/8.1.2", "10.0.0.7", False) == "curl/8.1"


def test_format_is_the_path_suffix_else_xml() -> None:
    assert format_of("/2008-08-01/Accounts/A/SMS/Messages.csv") == "csv"
    assert format_of("/2010-04-01/Accounts/A/SMS/Messages/SM1.Json") == "json"
    assert format_of("/2008-08-01/Accounts/A/SMS/Messages") == "xml"


async def test_counts_dialects_formats_features_and_seen_times() -> None:
    store, clock = MemoryStore(), Clock()
    ledger = Ledger(store, settings(), clock=clock)
    observe(ledger, A1, "twilio-php/2.0.8", path="/2008-08-01/Accounts/A/SMS/Messages.csv",
            operation="list", legacy_features=frozenset({feat.TOTALS}))
    observe(ledger, A1, "twilio-php/2.0.8", operation="send",
            legacy_features=frozenset({feat.STATUS_CALLBACK, feat.NON_E164}))
    observe(ledger, A1, "twilio-php/2.0.8", operation="send", status=400, twilio_code=21605)
    observe(ledger, A1, "anything", status=401)  # an unauthenticated try: not counted
    observe(ledger, A1, "anything", dialect="passthrough")  # not legacy: not counted
    observe(ledger, A1, "anything", dialect="ops")
    assert await ledger.flush()
    clock.now += 3600
    observe(ledger, A1, "twilio-php/2.0.8")
    assert await ledger.flush()

    view = (await load(store, clock.now)).account(A1)
    assert view is not None
    assert view.requests_week == 4
    assert view.hourly[-1] == 1 and view.hourly[-2] == 3
    assert [c.client for c in view.clients] == ["twilio-php/2.0"]
    seen = view.clients[0]
    assert seen.first_seen is not None and seen.last_seen is not None
    assert seen.last_seen.timestamp() - seen.first_seen.timestamp() == 3600
    assert view.feature_totals() == {
        feat.TOTALS: 1, feat.STATUS_CALLBACK: 1, feat.NON_E164: 1, feat.BODY_OVER_160: 1,
    }
    assert {(u.operation, u.format, u.requests) for u in view.usage} == {
        ("list", "csv", 1), ("send", "xml", 2), ("fetch", "xml", 1),
    }
    built = report.build(view)
    shares = {i["feature"]: i["share"] for i in built["items"]}
    assert shares["format_csv"] == 0.25 and shares["dialect_v2008"] == 1.0
    assert shares[feat.BODY_OVER_160] == 0.25
    assert "SmsStatus" in next(
        i["change"] for i in built["items"] if i["feature"] == feat.STATUS_CALLBACK
    )
    csv_text = report.as_csv(built)
    assert csv_text.splitlines()[0].startswith("account_sid,feature")
    assert len(csv_text.splitlines()) == 1 + len(built["items"])


async def test_pages_followed_are_told_from_jumps() -> None:
    store = MemoryStore()
    ledger = Ledger(store, settings())
    flt = ("", "", "", "", "")

    def page(n: int, agent: str = "poller/1", size: int = 50) -> None:
        found = frozenset({feat.PAGE_NUMBER}) if n else frozenset()
        observe(ledger, A1, agent, operation="list", legacy_features=found,
                list_position=(flt, size, n))

    page(0)
    page(1)
    page(2)  # followed twice
    page(7)  # a jump
    page(3, agent="jumper/1")  # another client's first request: a jump
    page(3, size=100)  # another list (page size): a jump
    await ledger.flush()
    view = (await load(store, NOW)).account(A1)
    assert view is not None
    assert view.feature_totals() == {feat.PAGE_FOLLOW: 2, feat.PAGE_JUMP: 3}


async def test_caps_put_further_accounts_and_clients_in_other() -> None:
    store = MemoryStore()
    ledger = Ledger(store, settings(ledger_max_accounts=2, ledger_max_clients=2))
    for agent in ("a/1", "b/1", "c/1", "d/1"):
        observe(ledger, A1, agent)
    observe(ledger, A2, "a/1")
    observe(ledger, A3, "a/1")
    await ledger.flush()
    assert await store.set_members(ACCOUNTS_KEY) == {A1, A2, OTHER}
    assert await store.set_members(clients_key(A1)) == {"a/1", "b/1", OTHER}
    view = await load(store, NOW)
    by = {a.account: a for a in view.accounts}
    assert by[A1].requests_week == 4
    assert {c.client: c.requests for c in by[A1].clients} == {"a/1": 1, "b/1": 1, OTHER: 2}
    assert by[OTHER].requests_week == 1


async def test_caps_hold_across_two_replicas() -> None:
    store = MemoryStore()
    capped = settings(ledger_max_accounts=2, ledger_max_clients=1)
    one, two = Ledger(store, capped), Ledger(store, capped)
    observe(one, A1, "a/1")
    await one.flush()
    observe(two, A2, "b/1")
    observe(two, A1, "c/1")  # A1 has its one client already (written by the other replica)
    await two.flush()
    observe(one, A3, "a/1")  # a third account, seen by the first replica
    await one.flush()
    assert await store.set_members(ACCOUNTS_KEY) == {A1, A2, OTHER}
    assert await store.set_members(clients_key(A1)) == {"a/1", OTHER}


class Failing(MemoryStore):
    down = True

    async def hash_incr(self, key: str, amounts: Any, ttl: float) -> None:
        if self.down:
            raise StoreUnavailable("redis://127.0.0.1:1 did not answer")
        await super().hash_incr(key, amounts, ttl)


async def test_a_failed_flush_keeps_its_counts_for_the_next() -> None:
    store = Failing()
    ledger = Ledger(store, settings())
    observe(ledger, A1, "a/1", legacy_features=frozenset({feat.TOTALS}))
    assert not await ledger.flush()
    observe(ledger, A1, "a/1", legacy_features=frozenset({feat.TOTALS}))
    assert ledger.failures == 1
    store.down = False
    assert await ledger.flush()
    view = (await load(store, NOW)).account(A1)
    assert view is not None
    assert view.requests_week == 2 and view.feature_totals() == {feat.TOTALS: 2}


async def test_nothing_outlives_the_retention() -> None:
    clock = Clock()
    store = MemoryStore(clock=lambda: clock.now)
    ledger = Ledger(store, settings(ledger_retention_days=2), clock=clock)
    observe(ledger, A1, "a/1")
    await ledger.flush()
    assert len(store) > 0
    clock.now += 2 * 86400 + 1
    assert len(store) == 0


@pytest.mark.parametrize("observed", [0, 1, 500])
async def test_pending_counts_stay_bounded_by_the_caps(observed: int) -> None:
    ledger = Ledger(MemoryStore(), settings(ledger_max_accounts=3, ledger_max_clients=2))
    for i in range(observed):
        observe(ledger, "AC" + f"{i:032x}", f"agent{i}/1",
                legacy_features=frozenset({feat.TOTALS}))
    # at most (3 accounts + other) x (2 clients + other), once for requests, once for features
    assert ledger.pending <= 2 * 4 * 3
