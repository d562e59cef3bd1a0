"""What every state store promises (gateway/state/base.py), checked on each backend."""

from __future__ import annotations

import asyncio

from gateway.state.base import StateStore

TTL = 30.0


async def test_get_set_delete(store: StateStore, key: str) -> None:
    assert await store.get(key) is None
    await store.set(key, b"v1", TTL)
    assert await store.get(key) == b"v1"
    await store.set(key, b"v2", TTL)
    assert await store.get_many([key, key + ":absent"]) == [b"v2", None]
    await store.delete(key)
    assert await store.get(key) is None


async def test_entries_expire(store: StateStore, key: str) -> None:
    await store.set(key, b"v", 0.2)
    await store.incr(key + ":n", 1, 0.2)
    assert await store.get(key) == b"v"
    await asyncio.sleep(0.35)
    assert await store.get(key) is None
    assert await store.incr(key + ":n", 1, TTL) == 1


async def test_claim_is_exclusive_until_released(store: StateStore, key: str) -> None:
    token = await store.claim(key, TTL)
    assert token
    assert await store.claim(key, TTL) is None
    assert not await store.release(key, "not-the-token")
    assert await store.claim(key, TTL) is None
    assert await store.release(key, token)
    again = await store.claim(key, TTL)
    assert again and again != token


async def test_claim_lapses_and_extends(store: StateStore, key: str) -> None:
    token = await store.claim(key, 0.3)
    assert token
    assert await store.extend(key, token, 1.0)
    await asyncio.sleep(0.45)
    assert await store.claim(key, TTL) is None  # extended past the first expiry
    assert not await store.extend(key, "other", 1.0)
    lapsing = await store.claim(key + ":2", 0.2)
    assert lapsing
    await asyncio.sleep(0.35)
    assert await store.claim(key + ":2", TTL) is not None
    assert not await store.release(key + ":2", lapsing)


async def test_concurrent_claims_have_one_winner(store: StateStore, key: str) -> None:
    tokens = await asyncio.gather(*(store.claim(key, TTL) for _ in range(20)))
    assert sum(1 for t in tokens if t) == 1


async def test_compare_and_set(store: StateStore, key: str) -> None:
    assert await store.compare_and_set(key, None, b"a", TTL)
    assert not await store.compare_and_set(key, None, b"b", TTL)
    assert not await store.compare_and_set(key, b"x", b"b", TTL)
    assert await store.compare_and_set(key, b"a", b"b", TTL)
    assert await store.get(key) == b"b"


async def test_counters(store: StateStore, key: str) -> None:
    assert await store.incr(key, 1, TTL) == 1
    assert await store.incr(key, 5, TTL) == 6
    assert await store.incr(key, -2, TTL) == 4


async def test_hashes(store: StateStore, key: str) -> None:
    assert await store.hash_get_all(key) == {}
    assert await store.hash_get(key, ["a"]) == [None]
    await store.hash_incr(key, {"a": 2, "b": 1}, TTL)
    await store.hash_incr(key, {"a": 3}, TTL)
    await store.hash_set(key, {"c": b"x"}, TTL)
    assert await store.hash_get(key, ["a", "b", "c", "d"]) == [b"5", b"1", b"x", None]
    assert await store.hash_get_all(key) == {"a": b"5", "b": b"1", "c": b"x"}


async def test_sets(store: StateStore, key: str) -> None:
    assert await store.set_members(key) == set()
    await store.set_add(key, ["a", "b"], TTL)
    await store.set_add(key, ["b", "c"], TTL)
    assert await store.set_members(key) == {"a", "b", "c"}


async def test_ping(store: StateStore) -> None:
    await store.ping()


async def test_a_claim_reads_as_its_token_and_becomes_a_value(store: StateStore, key: str) -> None:
    # How the callback relay records "reported" in the key it claimed, in one atomic step.
    token = await store.claim(key, TTL)
    assert token
    assert await store.get(key) == token.encode()
    assert not await store.compare_and_set(key, b"someone-else", b"done", TTL)
    assert await store.compare_and_set(key, token.encode(), b"done", TTL)
    assert await store.get(key) == b"done"
    assert not await store.release(key, token)  # no longer a claim: stays
    assert await store.claim(key, TTL) is None
    assert await store.get(key) == b"done"
