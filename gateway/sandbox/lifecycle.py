"""Status progression of outbound messages (queued -> sending -> sent -> delivered, or the
outcome the To number chooses) and the status callbacks each change sends.

Each message's steps run in one task, so its callbacks arrive in order; tasks are tracked and
cancelled when the app shuts down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from gateway.mapping.status import status_2010_sms
from gateway.sandbox.accounts import Accounts
from gateway.sandbox.clock import SandboxClock
from gateway.sandbox.outcomes import Outcome
from gateway.sandbox.store import MessageStore, StoredMessage
from gateway.sandbox.webhooks import WebhookSender

log = logging.getLogger("gateway.sandbox.lifecycle")

ERROR_STATUSES = frozenset({"failed", "undelivered"})
_LEGACY_FINAL = frozenset({"sent", "failed"})


def status_callback_params(m: StoredMessage) -> list[tuple[str, str]]:
    """The current API's status callback parameters for a message in its present status."""
    params = [
        ("AccountSid", m.account_sid),
        ("ApiVersion", m.api_version),
        ("From", m.from_ or ""),
        ("MessageSid", m.sid),
        ("MessageStatus", m.status),
        ("SmsSid", m.sid),
        ("SmsStatus", m.status),
        ("To", m.to),
    ]
    if m.status in ERROR_STATUSES and m.error_code is not None:
        params.append(("ErrorCode", str(m.error_code)))
    return params


def legacy_callback_params(m: StoredMessage, legacy_status: str) -> list[tuple[str, str]]:
    """What the deprecated /SMS/Messages resource posted: one callback, sent or failed."""
    return [
        ("AccountSid", m.account_sid),
        ("ApiVersion", m.api_version),
        ("From", m.from_ or ""),
        ("SmsSid", m.sid),
        ("SmsStatus", legacy_status),
        ("To", m.to),
    ]


class Lifecycle:
    def __init__(
        self,
        store: MessageStore,
        accounts: Accounts,
        clock: SandboxClock,
        sender: WebhookSender,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._clock = clock
        self._sender = sender
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, tuple[StoredMessage, deque[str], Outcome]] = {}

    def start(self, message: StoredMessage, outcome: Outcome) -> None:
        steps = deque(outcome.steps)
        if self._clock.manual:
            self._pending[message.sid] = (message, steps, outcome)
            return
        task = asyncio.get_running_loop().create_task(self._run(message, steps, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, message: StoredMessage, steps: deque[str], outcome: Outcome) -> None:
        try:
            while steps:
                tick = self._clock.tick
                # With tick 0 still yield once, so the create response goes out as "queued".
                await asyncio.sleep(tick)
                if not await self._step(message, steps.popleft(), outcome):
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug here must not take the sandbox down
            log.exception("status progression of %s stopped", message.sid)

    async def _step(self, message: StoredMessage, status: str, outcome: Outcome) -> bool:
        now = self._clock.now()
        changes: dict[str, object] = {"status": status, "date_updated": now}
        if status == "sent" and message.date_sent is None:
            changes["date_sent"] = now
        if status in ERROR_STATUSES:
            changes["error_code"] = outcome.error_code
            changes["error_message"] = outcome.error_message
        previous = message.status
        if not self._store.update(message, **changes):
            return False  # evicted meanwhile
        await self._notify(message, previous)
        return True

    async def _notify(self, m: StoredMessage, previous: str) -> None:
        if not m.status_callback:
            return
        token = self._accounts.token(m.account_sid) or ""
        if m.created_via == "sms2010":
            legacy = status_2010_sms(m.status)
            was = status_2010_sms(previous)
            if legacy not in _LEGACY_FINAL or was in _LEGACY_FINAL:
                return  # the old resource called back once, with sent or failed
            params = legacy_callback_params(m, legacy)
        else:
            params = status_callback_params(m)
        await self._sender.send("status_callback", m.status_callback, "POST", params, token)

    # --- for tests -------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        """Messages whose progression has not finished yet."""
        return len(self._tasks) + len(self._pending)

    async def advance(self, sid: str | None = None) -> int:
        """Manual clock: move one message (or every pending one) one status step on. Returns
        how many messages moved."""
        sids = [sid] if sid is not None else list(self._pending)
        moved = 0
        for s in sids:
            entry = self._pending.get(s)
            if entry is None:
                continue
            message, steps, outcome = entry
            if steps and await self._step(message, steps.popleft(), outcome):
                moved += 1
            if not steps:
                self._pending.pop(s, None)
        return moved

    async def settle(self) -> None:
        """Wait until every message has reached its final status and its callbacks are sent
        (in manual mode: run all remaining steps now)."""
        while self._pending:
            await self.advance()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pending.clear()
