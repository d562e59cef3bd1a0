"""Which messages were already reported to their legacy callback (bounded, per process).

Keyed by (account, message sid, kind) so accounts never share state. A message counts as
reported only after the legacy app accepted the callback; a per-key lock makes two events of
one message (``sent`` and ``delivered`` arriving together) produce one legacy call, while a
failed call leaves the key free for Twilio's retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cachetools import TTLCache

Key = tuple[str, str, str]


class ReportedMessages:
    def __init__(self, maxsize: int, ttl: float) -> None:
        self._done: TTLCache[Key, bool] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._locks: dict[Key, asyncio.Lock] = {}
        self._waiters: dict[Key, int] = {}
        # Lookups that found the message already reported (a suppressed duplicate) or not.
        self.hits = self.misses = 0

    def reported(self, key: Key) -> bool:
        done = self._done.get(key, False)
        if done:
            self.hits += 1
        else:
            self.misses += 1
        return done

    def mark(self, key: Key) -> None:
        self._done[key] = True

    @asynccontextmanager
    async def exclusive(self, key: Key) -> AsyncIterator[None]:
        """Serialise the handling of one message's events; the lock table only holds keys
        currently in use, so it stays as small as the number of callbacks in flight."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiters[key] -= 1
            if not self._waiters[key]:
                del self._waiters[key]
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._done)
