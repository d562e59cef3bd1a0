"""Status progression of outbound messages (queued -> sending -> sent -> delivered, or the
outcome the To number chooses) and the status callbacks each change sends.

Between two steps a message's progression is only a timer on the event loop (``call_later``):
no task, coroutine or frame per message, which a long tick would otherwise keep alive by the
ten thousand for the garbage collector to scan on every full collection (stalls of hundreds of
milliseconds). A due step runs in a task that lives as long as the step and its status
callback; the next step's timer is armed only when that task has finished, so a message's
callbacks arrive in order. Timers and step tasks are tracked and cancelled when the app shuts
down.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

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
        # A progression is (message, outcome, steps done); it lives in exactly one of these.
        self._timers: dict[str, asyncio.TimerHandle] = {}  # by sid: the next step's timer
        self._tasks: set[asyncio.Task[bool]] = set()  # steps running now
        self._pending: dict[str, tuple[StoredMessage, Outcome, int]] = {}  # manual clock
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        # One bound method for every timer, rather than a new one held by each pending timer.
        self._on_due = self._due

    def start(self, message: StoredMessage, outcome: Outcome) -> None:
        if not outcome.steps:
            return
        if self._clock.manual:
            self._pending[message.sid] = (message, outcome, 0)
            return
        self._schedule(message, outcome, 0)

    def _schedule(self, message: StoredMessage, outcome: Outcome, done: int) -> None:
        # The tick is read when the previous step has finished, so a changed tick applies from
        # the next step on. Even a tick of 0 runs the step on a later loop iteration, so the
        # create response goes out as "queued".
        if done < len(outcome.steps) and not self._closing:
            self._timers[message.sid] = asyncio.get_running_loop().call_later(
                self._clock.tick, self._on_due, message, outcome, done
            )
        self._track()

    def _due(self, message: StoredMessage, outcome: Outcome, done: int) -> None:
        del self._timers[message.sid]
        task = asyncio.get_running_loop().create_task(self._run_step(message, outcome, done))
        self._tasks.add(task)
        task.add_done_callback(partial(self._stepped, message, outcome, done + 1))

    async def _run_step(self, message: StoredMessage, outcome: Outcome, index: int) -> bool:
        """One step and its callback; whether the progression goes on."""
        try:
            return await self._step(message, outcome.steps[index], outcome)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug here must not take the sandbox down
            log.exception("status progression of %s stopped", message.sid)
            return False

    def _stepped(
        self, message: StoredMessage, outcome: Outcome, done: int, task: asyncio.Task[bool]
    ) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.result():
            self._schedule(message, outcome, done)
        else:
            self._track()

    def _track(self) -> None:
        if self._timers or self._tasks:
            self._idle.clear()
        else:
            self._idle.set()

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
        return len(self._timers) + len(self._tasks) + len(self._pending)

    @property
    def timers(self) -> int:
        """Messages waiting for their next step (each holds a timer, not a task)."""
        return len(self._timers)

    @property
    def running(self) -> int:
        """Steps running now (each a task, until its status callback is sent)."""
        return len(self._tasks)

    async def advance(self, sid: str | None = None) -> int:
        """Manual clock: move one message (or every pending one) one status step on. Returns
        how many messages moved."""
        sids = [sid] if sid is not None else list(self._pending)
        moved = 0
        for s in sids:
            entry = self._pending.get(s)
            if entry is None:
                continue
            message, outcome, done = entry
            # Recorded before the step awaits its callback, so a concurrent advance moves on.
            if done + 1 < len(outcome.steps):
                self._pending[s] = (message, outcome, done + 1)
            else:
                del self._pending[s]
            if await self._step(message, outcome.steps[done], outcome):
                moved += 1
            else:
                self._pending.pop(s, None)  # evicted meanwhile: its progression stops
        return moved

    async def settle(self) -> None:
        """Wait until every message has reached its final status and its callbacks are sent
        (in manual mode: run all remaining steps now). A pending timer counts: with a long
        tick this waits that long."""
        while self._pending:
            await self.advance()
        while not self._idle.is_set():
            await self._idle.wait()

    async def close(self) -> None:
        """Cancel every pending timer and running step; nothing moves on afterwards."""
        self._closing = True
        try:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            # The tasks' done callbacks run before this returns; _closing keeps them from
            # arming another timer.
            await asyncio.gather(*tasks, return_exceptions=True)
            self._pending.clear()
        finally:
            self._closing = False
            self._track()
