"""``memory://``: the state store inside one process, bounded, for a single worker.

It keeps today's single-process behaviour: nothing is shared, nothing needs a server. Every
entry expires at its own time (``cachetools.TLRUCache``) and the whole store holds at most
``max_entries`` keys, least recently used first out, so a busy gateway cannot grow it without
bound. Operations never await, so each is atomic with respect to the event loop.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cachetools import TLRUCache

Clock = Callable[[], float]

# What a key holds: its value (bytes, a claim token, an int, a dict or a set) and when it expires.
_Entry = tuple[Any, float]


def _expiry(_key: str, entry: _Entry, _now: float) -> float:
    return entry[1]


class MemoryStore:
    kind = "memory"

    def __init__(self, max_entries: int = 100_000, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._data: TLRUCache[str, _Entry] = TLRUCache(
            maxsize=max_entries, ttu=_expiry, timer=clock
        )
        self._tokens = itertools.count(1)

    def __len__(self) -> int:
        self._data.expire()
        return len(self._data)

    def _value(self, key: str) -> Any:
        entry = self._data.get(key)
        return None if entry is None else entry[0]

    def _put(self, key: str, value: Any, ttl: float) -> None:
        self._data[key] = (value, self._clock() + ttl)

    async def get(self, key: str) -> bytes | None:
        value = self._value(key)
        return value if isinstance(value, bytes) else None

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._put(key, value, ttl)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        if self._value(key) != expected:
            return False
        self._put(key, value, ttl)
        return True

    async def claim(self, key: str, ttl: float) -> str | None:
        if self._value(key) is not None:
            return None
        token = f"m{next(self._tokens)}"
        # Held as bytes, as Redis holds it: a claimed key reads as its token, so a caller can
        # turn its claim into a value with compare_and_set(key, token.encode(), ...).
        self._put(key, token.encode(), ttl)
        return token

    async def release(self, key: str, token: str) -> bool:
        if self._value(key) != token.encode():
            return False
        del self._data[key]
        return True

    async def extend(self, key: str, token: str, ttl: float) -> bool:
        if self._value(key) != token.encode():
            return False
        self._put(key, token.encode(), ttl)
        return True

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        value = self._value(key)
        total = (value if isinstance(value, int) else 0) + amount
        self._put(key, total, ttl)
        return total

    async def hash_incr(self, key: str, amounts: Mapping[str, int], ttl: float) -> None:
        current = self._value(key)
        fields: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
        for name, amount in amounts.items():
            fields[name] = int(fields.get(name, 0)) + amount
        self._put(key, fields, ttl)

    async def hash_set(self, key: str, values: Mapping[str, bytes], ttl: float) -> None:
        current = self._value(key)
        fields: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
        fields.update(values)
        self._put(key, fields, ttl)

    async def hash_get(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        current = self._value(key)
        if not isinstance(current, dict):
            return [None] * len(fields)
        return [_as_bytes(current.get(name)) for name in fields]

    async def hash_get_all(self, key: str) -> dict[str, bytes]:
        current = self._value(key)
        if not isinstance(current, dict):
            return {}
        return {name: _as_bytes(value) for name, value in current.items()}  # type: ignore[misc]

    async def set_add(self, key: str, members: Sequence[str], ttl: float) -> None:
        current = self._value(key)
        new = set(current) if isinstance(current, set) else set()
        new.update(members)
        self._put(key, new, ttl)

    async def set_members(self, key: str) -> set[str]:
        current = self._value(key)
        return set(current) if isinstance(current, set) else set()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


def _as_bytes(value: Any) -> bytes | None:
    # Counters are kept as ints; the contract hands every field back as bytes, as Redis does.
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode()
