"""Exactly one legacy status callback per message, whichever process or replica each of
Twilio's events reaches.

One store key per (account, message, kind), ``cb:{account}:{sid}:{kind}``, goes through three
states:

- absent: nobody reported the message;
- a claim token (``claim`` = SET NX with a short expiry): one process is calling the legacy app
  now; the claim outlives that call's own timeout, so it only lapses if the process died;
- ``done`` (``compare_and_set`` from the claim's token, one atomic step, kept for
  ``callback_dedup_ttl``): the legacy app accepted the callback; later events are duplicates.

A failed legacy call releases the claim, so Twilio's retry (or a concurrent event) goes
through. An event that finds another process's claim waits for its outcome, polling the key,
for at most the legacy call's own bound: ``done`` makes it a duplicate, a released claim lets
it try itself, and a claim still held after the wait is answered 503 so that Twilio comes back
later. It is never answered as delivered before the outcome is known.

Within one process a per-key lock (:class:`ReportedMessages`) serialises a message's events
before they reach the store, and the process remembers what it reported, so a repeated event
on the same process costs no store call. While the store is unavailable, the relay follows
``callback_store_down``: ``retry-later`` answers 503 (Twilio retries; no duplicate) and
``relay`` calls the legacy app remembering the message in this process only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from gateway.callbacks.dedup import Key, ReportedMessages
from gateway.config import Settings
from gateway.state.base import StateStore, StoreUnavailable

log = logging.getLogger("gateway.callbacks")

DONE = b"done"
RETRY_LATER = "retry-later"
RELAY = "relay"

# A claim outlives the legacy call's own timeout by this much: it lapses only when its holder
# died, never under a slow but live call.
_CLAIM_MARGIN = 5.0
# Polling another process's claim: first and longest pause between looks.
_POLL_FIRST = 0.02
_POLL_MAX = 0.2


class StoreDown(Exception):
    """The store is unavailable and the policy is to have Twilio retry later."""


class HeldElsewhere(Exception):
    """Another process still calls the legacy app for this message after the whole wait."""


def store_key(key: Key) -> str:
    account, sid, kind = key
    return f"cb:{account}:{sid}:{kind}"


@dataclass(slots=True)
class Turn:
    """One event's turn at a message: ``reported`` if the message needs no further callback;
    otherwise call the legacy app and :meth:`mark` it once the app accepted."""

    reported: bool
    _mark: Callable[[], Awaitable[None]] | None = None
    marked: bool = False

    async def mark(self) -> None:
        self.marked = True
        if self._mark is not None:
            await self._mark()


class ReportOnce:
    def __init__(
        self, local: ReportedMessages, store: Callable[[], StateStore], settings: Settings
    ) -> None:
        self.local = local
        self._store = store
        self._policy = settings.callback_store_down
        self._claim_ttl = settings.callback_timeout + _CLAIM_MARGIN
        self._done_ttl = settings.callback_dedup_ttl
        # The holder's call ends within callback_timeout; a second more covers its store calls.
        self._wait = settings.callback_timeout + 1.0

    @asynccontextmanager
    async def turn(self, key: Key) -> AsyncIterator[Turn]:
        """Raises :class:`StoreDown` (policy ``retry-later``) or :class:`HeldElsewhere` before
        yielding; never after, so the caller's legacy call is never undone by the store."""
        async with self.local.exclusive(key):
            if self.local.reported(key):
                yield Turn(reported=True)
                return
            store = self._store()
            skey = store_key(key)
            try:
                token = await self._acquire(store, skey)
            except StoreUnavailable as exc:
                if self._policy == RETRY_LATER:
                    raise StoreDown(str(exc)) from None
                log.warning(
                    "%s; relaying the status callback anyway (--callback-store-down relay): "
                    "another replica may relay this message too", exc,
                )
                yield Turn(reported=False, _mark=partial(self._mark_local, key))
                return
            if token is None:
                self.local.mark(key)  # reported by another process: no store call next time
                yield Turn(reported=True)
                return
            turn = Turn(reported=False, _mark=partial(self._mark_done, store, skey, token, key))
            try:
                yield turn
            finally:
                if not turn.marked:
                    await self._release(store, skey, token)

    async def _acquire(self, store: StateStore, skey: str) -> str | None:
        """A claim token, or None when the message is already reported."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        pause = _POLL_FIRST
        while True:
            token = await store.claim(skey, self._claim_ttl)
            if token is not None:
                return token
            # Held: either reported for good, or another process is calling the app now.
            if await store.get(skey) == DONE:
                return None
            if loop.time() >= deadline:
                raise HeldElsewhere(skey)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)

    async def _mark_local(self, key: Key) -> None:
        self.local.mark(key)

    async def _mark_done(self, store: StateStore, skey: str, token: str, key: Key) -> None:
        # The legacy app has the callback: whatever the store says now, Twilio hears success.
        self.local.mark(key)
        try:
            if not await store.compare_and_set(skey, token.encode(), DONE, self._done_ttl):
                log.warning(
                    "status callback claim lapsed before the legacy app answered; another "
                    "replica may relay this message again"
                )
        except StoreUnavailable as exc:
            log.warning(
                "%s; the message is remembered as reported in this process only", exc
            )

    async def _release(self, store: StateStore, skey: str, token: str) -> None:
        try:
            await store.release(skey, token)
        except StoreUnavailable as exc:
            # The claim lapses on its own within the claim's expiry; a retry waits until then.
            log.warning("%s; the callback claim will lapse by itself", exc)
