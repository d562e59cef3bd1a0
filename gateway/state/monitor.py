"""Whether the state store answers, as the process last saw it, for /readyz and the metrics.

Every call through :class:`Monitored` reports its outcome, so the view follows real traffic;
while the store is down a background check pings it, so the view (and the gauge) recovers
without traffic and without a restart. Nothing here stops a call from reaching the store: a
store that is back is used again on the very next call.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from gateway.state.base import StateStore, StoreUnavailable

log = logging.getLogger("gateway.state")

T = TypeVar("T")
Listener = Callable[[bool], None]


class StoreMonitor:
    def __init__(self, name: str, kind: str) -> None:
        self.name = name  # the masked URL
        self.kind = kind
        self.up = True
        self.last_error = ""
        self.errors = 0
        self.since = time.monotonic()
        # When a call last told us how the store is: /readyz pings only when that is old.
        self.checked = 0.0
        self.store: StateStore | None = None  # the monitored store, once open
        self._probe = asyncio.Lock()
        self._listeners: list[Listener] = []
        self._error_listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)
        listener(self.up)

    def on_error(self, listener: Callable[[], None]) -> None:
        self._error_listeners.append(listener)

    def succeeded(self) -> None:
        self.checked = time.monotonic()
        if not self.up:
            self._set(True)
            log.warning("state store %s is reachable again", self.name)

    def failed(self, exc: StoreUnavailable) -> None:
        self.checked = time.monotonic()
        self.errors += 1
        self.last_error = str(exc)
        for listener in self._error_listeners:
            listener()
        if self.up:
            self._set(False)
            log.error("%s; callbacks follow --callback-store-down until it is back", exc)

    def _set(self, up: bool) -> None:
        self.up = up
        self.since = time.monotonic()
        for listener in self._listeners:
            listener(up)

    async def check(self, max_age: float) -> str:
        """The readiness check's entry, 'ok' or why not; pings the store first unless a call
        told us within ``max_age`` seconds (one ping at a time, the others reuse it)."""
        async with self._probe:
            if self.store is not None and time.monotonic() - self.checked >= max_age:
                try:
                    await self.store.ping()
                except StoreUnavailable:
                    pass  # recorded by the monitored store
        return self.status()

    def status(self) -> str:
        if self.up:
            return "ok" if self.kind != "memory" else "ok (memory://, this process only)"
        return f"unavailable for {time.monotonic() - self.since:.0f}s ({self.last_error})"


class Monitored:
    """A store whose every call tells the monitor whether the store answered."""

    def __init__(self, inner: StateStore, monitor: StoreMonitor) -> None:
        self.inner = inner
        self.kind = inner.kind
        self._monitor = monitor

    async def _watch(self, call: Awaitable[T]) -> T:
        try:
            result = await call
        except StoreUnavailable as exc:
            self._monitor.failed(exc)
            raise
        self._monitor.succeeded()
        return result

    async def get(self, key: str) -> bytes | None:
        return await self._watch(self.inner.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return await self._watch(self.inner.get_many(keys))

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._watch(self.inner.set(key, value, ttl))

    async def delete(self, key: str) -> None:
        await self._watch(self.inner.delete(key))

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        return await self._watch(self.inner.compare_and_set(key, expected, value, ttl))

    async def claim(self, key: str, ttl: float) -> str | None:
        return await self._watch(self.inner.claim(key, ttl))

    async def release(self, key: str, token: str) -> bool:
        return await self._watch(self.inner.release(key, token))

    async def extend(self, key: str, token: str, ttl: float) -> bool:
        return await self._watch(self.inner.extend(key, token, ttl))

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        return await self._watch(self.inner.incr(key, amount, ttl))

    async def hash_incr(self, key: str, amounts: Mapping[str, int], ttl: float) -> None:
        await self._watch(self.inner.hash_incr(key, amounts, ttl))

    async def hash_set(self, key: str, values: Mapping[str, bytes], ttl: float) -> None:
        await self._watch(self.inner.hash_set(key, values, ttl))

    async def hash_get(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        return await self._watch(self.inner.hash_get(key, fields))

    async def hash_get_all(self, key: str) -> dict[str, bytes]:
        return await self._watch(self.inner.hash_get_all(key))

    async def set_add(self, key: str, members: Sequence[str], ttl: float) -> None:
        await self._watch(self.inner.set_add(key, members, ttl))

    async def set_members(self, key: str) -> builtins.set[str]:
        return await self._watch(self.inner.set_members(key))

    async def ping(self) -> None:
        await self._watch(self.inner.ping())

    async def close(self) -> None:
        await self.inner.close()


async def watch_while_down(store: StateStore, monitor: StoreMonitor, interval: float) -> None:
    """Ping the store every ``interval`` seconds while it is down (``store`` reports to
    ``monitor``); runs until cancelled."""
    while True:
        await asyncio.sleep(interval)
        if monitor.up:
            continue
        try:
            await store.ping()
        except StoreUnavailable:
            pass  # still down; the monitor counted it

