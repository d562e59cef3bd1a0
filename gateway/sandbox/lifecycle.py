"""Status progression of outbound messages (queued -> sending -> sent -> delivered, or the
outcome the To number chooses) and the status callbacks each change sends.

Between two steps a message's progression is only an entry in the app's :class:`Scheduler`
(account, sid, outcome number, steps done: atomic values the garbage collector does not track),
not a task, coroutine, frame or even a loop timer of its own, which a long tick would otherwise
keep alive by the ten thousand for the collector to scan on every full collection (stalls of
hundreds of milliseconds). A due step looks its message up in the store (evicted: the
progression stops) and runs in a task that lives as long as the step and its status callback;
the next step is scheduled only when that task has finished, so a message's callbacks arrive
in order. Pending steps and step tasks are cancelled when the app shuts down.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from gateway.mapping.status import status_2010_sms
from gateway.sandbox.accounts import Accounts
from gateway.sandbox.clock import SandboxClock
from gateway.sandbox.outcomes import Outcome
from gateway.sandbox.scheduler import Scheduler
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


# What the scheduler holds for a message between two steps: account, sid, the number of its
# outcome in Lifecycle._outcomes and the steps done so far.
Waiting = tuple[str, str, int, int]


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
        self._waiting: Scheduler[Waiting] = Scheduler(self._due)  # until the next step
        self._tasks: set[asyncio.Task[bool]] = set()  # steps running now
        self._pending: dict[str, tuple[StoredMessage, Outcome, int]] = {}  # manual clock
        # The few distinct outcomes, numbered so that a waiting progression names its outcome
        # with an int rather than holding the object (which would make the collector track it).
        self._outcomes: list[Outcome] = []
        self._outcome_numbers: dict[Outcome, int] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

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
            number = self._outcome_numbers.get(outcome)
            if number is None:
                number = self._outcome_numbers[outcome] = len(self._outcomes)
                self._outcomes.append(outcome)
            waiting = (message.account_sid, message.sid, number, done)
            self._waiting.call_later(self._clock.tick, waiting)
        self._track()

    def _due(self, waiting: Waiting) -> None:
        account_sid, sid, number, done = waiting
        message = self._store.get(account_sid, sid)
        if message is not None:  # else evicted meanwhile: its progression stops
            outcome = self._outcomes[number]
            task = asyncio.get_running_loop().create_task(self._run_step(message, outcome, done))
            self._tasks.add(task)
            task.add_done_callback(partial(self._stepped, message, outcome, done + 1))
        self._track()

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
        if self._waiting or self._tasks:
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
        return len(self._waiting) + len(self._tasks) + len(self._pending)

    @property
    def timers(self) -> int:
        """Messages waiting for their next step (an entry in the scheduler: no timer or task
        of their own)."""
        return len(self._waiting)

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
        (in manual mode: run all remaining steps now). A waiting step counts: with a long
        tick this waits that long."""
        while self._pending:
            await self.advance()
        while not self._idle.is_set():
            await self._idle.wait()

    async def close(self) -> None:
        """Drop every waiting step and cancel every running one; nothing moves on afterwards."""
        self._closing = True
        try:
            self._waiting.clear()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            # The tasks' done callbacks run before this returns; _closing keeps them from
            # scheduling another step.
            await asyncio.gather(*tasks, return_exceptions=True)
            self._pending.clear()
        finally:
            self._closing = False
            self._track()
