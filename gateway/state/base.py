"""The state store's contract: the few operations the gateway needs, not a generic cache.

Keys are plain strings chosen by the caller (``cb:{account}:{sid}``); a store adds its own
prefix. Every write carries a time to live in seconds, so nothing a store holds outlives its
use, whichever backend holds it. Values are bytes: callers choose their encoding.

Every operation may raise :class:`StoreUnavailable` (a backend that cannot be reached within its
timeout); callers decide what that means for them (a cache falls back to recomputing, the
callback relay to its configured policy). No other exception escapes a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class StoreUnavailable(Exception):
    """The store could not answer in time. The message names the backend, never a password."""


class StateStore(Protocol):
    # "memory" or "redis": for logs, metrics and /readyz.
    kind: str

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        """Write ``value`` only if the key now holds ``expected`` (``None``: absent)."""
        ...

    async def claim(self, key: str, ttl: float) -> str | None:
        """Take ``key`` if nobody holds it: a token that proves the claim, or ``None``. The
        claim lapses after ``ttl`` unless released or extended first."""
        ...

    async def release(self, key: str, token: str) -> bool:
        """Give up a claim, only if ``token`` still holds it."""
        ...

    async def extend(self, key: str, token: str, ttl: float) -> bool:
        """Push a held claim's expiry to ``ttl`` from now, only if ``token`` still holds it."""
        ...

    async def incr(self, key: str, amount: int, ttl: float) -> int: ...

    async def hash_incr(self, key: str, amounts: Mapping[str, int], ttl: float) -> None:
        """Add each amount to its field of the hash at ``key`` in one step."""
        ...

    async def hash_set(self, key: str, values: Mapping[str, bytes], ttl: float) -> None: ...

    async def hash_get(self, key: str, fields: Sequence[str]) -> list[bytes | None]: ...

    async def hash_get_all(self, key: str) -> dict[str, bytes]: ...

    async def set_add(self, key: str, members: Sequence[str], ttl: float) -> None: ...

    async def set_members(self, key: str) -> set[str]: ...

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the backend answers now."""
        ...

    async def close(self) -> None: ...
