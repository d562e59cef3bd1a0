"""Open the state store a URL names: ``memory://`` in the process, anything else on Redis."""

from __future__ import annotations

from gateway.state.base import StateStore
from gateway.state.memory import MemoryStore
from gateway.state.redis import RedisStore
from gateway.state.url import scheme_of

# memory:// holds at most this many keys per process (least recently used out first).
MEMORY_MAX_ENTRIES = 100_000


def open_store(url: str, *, prefix: str = "sms-gateway:", timeout: float = 0.5) -> StateStore:
    """The store ``url`` names. Opening connects nothing: the first call does, so a gateway
    starts (and serves sends) while its store is down. ``ValueError`` for an unknown scheme."""
    if scheme_of(url) == "memory":
        return MemoryStore(max_entries=MEMORY_MAX_ENTRIES)
    return RedisStore(url, prefix=prefix, timeout=timeout)
