"""What only the in-process store promises: a bound on what it holds."""

from __future__ import annotations

from gateway.state.memory import MemoryStore


async def test_bounded_least_recently_used_first() -> None:
    store = MemoryStore(max_entries=3)
    for i in range(5):
        await store.set(f"k{i}", b"v", 60)
    assert len(store) == 3
    assert await store.get("k0") is None
    assert await store.get("k4") == b"v"


async def test_expiry_follows_the_clock() -> None:
    now = [100.0]
    store = MemoryStore(clock=lambda: now[0])
    await store.set("k", b"v", 10)
    token = await store.claim("c", 10)
    now[0] += 11
    assert await store.get("k") is None
    assert token and await store.claim("c", 10) not in (None, token)
