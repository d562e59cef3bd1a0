"""Many delayed calls behind one event-loop timer.

Each ``loop.call_later`` keeps three objects the cyclic garbage collector tracks (the handle,
its arguments, its context) until it fires; with tens of thousands of calls pending (the
sandbox's status progressions on a long tick) every full collection scans them all while the
loop answers nothing. Here a pending call is one heap entry ``(due, seq, key)``: with ``key``
an atomic value (str, int, float, None) or a tuple of them, CPython stops tracking the entry
once a collection or two have seen it, so pending calls cost the collector nothing. One loop
timer is armed for the earliest entry; when it fires, every entry due by then is handed to
``run``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Hashable
from itertools import count
from typing import Generic, TypeVar

log = logging.getLogger("gateway.sandbox.scheduler")

K = TypeVar("K", bound=Hashable)


class Scheduler(Generic[K]):
    """Calls ``run(key)`` once per :meth:`call_later`, no earlier than its delay, in order of
    due time (equal times: in the order they were scheduled)."""

    def __init__(self, run: Callable[[K], None]) -> None:
        self._run = run
        self._heap: list[tuple[float, int, K]] = []
        self._seq = count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0

    def __len__(self) -> int:
        return len(self._heap)

    def call_later(self, delay: float, key: K) -> None:
        """Run ``key`` after ``delay`` seconds; like ``loop.call_later``, a delay of 0 still
        waits for a later iteration of the event loop."""
        loop = asyncio.get_running_loop()
        heapq.heappush(self._heap, (loop.time() + delay, next(self._seq), key))
        self._arm(loop)

    def clear(self) -> None:
        """Drop every pending call; none of them runs."""
        self._heap.clear()
        self._arm(None)

    def _arm(self, loop: asyncio.AbstractEventLoop | None) -> None:
        # Keep exactly one timer, for the earliest entry; with a constant delay new entries
        # come last, so the common case returns at the first test.
        if self._timer is not None:
            if self._heap and self._timer_when <= self._heap[0][0]:
                return
            self._timer.cancel()
            self._timer = None
        if self._heap and loop is not None:
            self._timer_when = self._heap[0][0]
            self._timer = loop.call_at(self._timer_when, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        # The loop runs a timer once its time has come within the clock's resolution, so an
        # entry due at the timer's own time is due even if loop.time() is a hair earlier.
        now = max(loop.time(), self._timer_when)
        due: list[K] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        # Armed before running, so a call scheduled by ``run`` finds the timer in place.
        self._arm(loop)
        for key in due:
            try:
                self._run(key)
            except Exception:  # one bad call must not drop the others due with it
                log.exception("scheduled call %r failed", key)
