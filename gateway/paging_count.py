"""Counting a list in the background: a count outlives the request that started it.

A count walks one generation of a list from where its stored progress stands, filing a
checkpoint per upstream page and saving its progress after each page, so a count that stops
(the process exits, upstream fails) resumes where it was, on any replica. Beside that walk,
up to ``parallel - 1`` segments further down the list are counted at the same time
(:mod:`gateway.paging_segments`). At most one process counts a list's generation at a time (a
store claim, extended after every page); per process at most ``concurrency`` counts run per
account. The task runs outside any request's context, so no request's time budget cuts it
short.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.cursor_cache import HEAD_SIDS, Count, Head, ListKey, PagingIndex
from gateway.model import ApiError, ListFilter
from gateway.paging_estimate import when
from gateway.paging_segments import SegmentedCount
from gateway.paging_walk import GuardedFetch, PagingStats, WalkCut
from gateway.state.base import StoreUnavailable

log = logging.getLogger(__name__)

MAX_PAGE = 1000
# A claim outlives one upstream read with its retries; it is extended after every page.
CLAIM_TTL = 45.0

WallClock = Callable[[], float]
# (account, filter, purpose) -> the guarded reads a count makes
MakeFetch = Callable[[str, ListFilter, str], GuardedFetch]


@dataclass(frozen=True, slots=True)
class Job:
    key: ListKey
    generation: str
    filter: ListFilter
    limit: int | None  # stop once this many are counted (bounded mode)
    promote_from: str | None = None  # a recount: serve it instead of this generation when done


class Counter:
    """Runs counts as background tasks and tells waiting requests about their progress."""

    def __init__(
        self, concurrency: int, wall: WallClock = time.time, parallel: int = 1,
        stats: PagingStats | None = None,
    ) -> None:
        self._concurrency = concurrency
        self._parallel = parallel
        self._stats = stats or PagingStats()
        self._wall = wall
        self._running: dict[tuple[ListKey, str], asyncio.Task[None]] = {}
        # Per account: its semaphore and how many tasks use it, dropped at zero.
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}
        self._progress: dict[tuple[ListKey, str], asyncio.Event] = {}
        # Progress marks of the counts running here (dropped when a count ends).
        self._marks: dict[tuple[ListKey, str], int] = {}

    def running(self, key: ListKey, generation: str) -> bool:
        return (key, generation) in self._running

    @property
    def busy(self) -> int:
        """How many counts this process is running now."""
        return len(self._running)

    def start(self, index: PagingIndex, job: Job, make_fetch: MakeFetch) -> None:
        """Count ``job`` unless this process already is. ``make_fetch`` builds the reads with
        the credentials of the request that asked; they live only as long as the task."""
        slot = (job.key, job.generation)
        if slot in self._running:
            return
        # An empty context: the starting request's deadline must not bound the count.
        task = asyncio.get_running_loop().create_task(
            self._run(index, job, make_fetch), context=contextvars.Context()
        )
        self._running[slot] = task
        self._marks[slot] = self._marks.get(slot, 0) + 1
        task.add_done_callback(lambda _t: self._finished(slot))

    def _finished(self, slot: tuple[ListKey, str]) -> None:
        self._running.pop(slot, None)
        self._marks.pop(slot, None)
        event = self._progress.pop(slot, None)
        if event is not None:
            event.set()

    def mark(self, key: ListKey, generation: str) -> int:
        """A progress mark to pass to :meth:`wait_progress`, taken before reading the store."""
        return self._marks.get((key, generation), 0)

    async def wait_progress(self, key: ListKey, generation: str, mark: int, timeout: float) -> None:
        """Return once this count has made local progress since ``mark``, or after
        ``timeout`` (progress made on another replica is seen by re-reading the store)."""
        slot = (key, generation)
        if self._marks.get(slot, 0) != mark:
            return
        event = self._progress.setdefault(slot, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    def _signal(self, key: ListKey, generation: str) -> None:
        slot = (key, generation)
        if slot in self._running or slot in self._marks:
            self._marks[slot] = self._marks.get(slot, 0) + 1
        event = self._progress.pop(slot, None)
        if event is not None:
            event.set()

    async def close(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, index: PagingIndex, job: Job, make_fetch: MakeFetch) -> None:
        account = job.key[0]
        slots, users = self._slots.get(account) or (asyncio.Semaphore(self._concurrency), 0)
        self._slots[account] = (slots, users + 1)
        try:
            async with slots:
                claim = await index.claim(job.key, job.generation, CLAIM_TTL)
                if claim is None:
                    return  # another process counts this list
                try:
                    await self._count(index, job, make_fetch, claim)
                finally:
                    await index.release(job.key, job.generation, claim)
        except (ApiError, StoreUnavailable, WalkCut, OSError) as exc:
            # The progress so far stays in the store; the next request resumes the count.
            log.warning("paging count stopped: %s", type(exc).__name__)
        finally:
            self._signal(job.key, job.generation)
            slots, users = self._slots[account]
            if users <= 1:
                del self._slots[account]
            else:
                self._slots[account] = (slots, users - 1)

    async def _count(
        self, index: PagingIndex, job: Job, make_fetch: MakeFetch, claim: str
    ) -> None:
        key, generation = job.key, job.generation
        snap = await index.load(key, generation)
        state = snap.count
        if state is None:
            state = await self._first_page(index, job, make_fetch(key[0], job.filter, "count"))
            if state is None:
                return

        async def save(old: Count, new: Count, points: Sequence[tuple[int, str]]) -> bool:
            await index.file(key, generation, points)
            if not await index.save_count(key, generation, old, new):
                return False
            self._signal(key, generation)
            return await index.extend(key, generation, claim, CLAIM_TTL)

        def fetch_for(flt: ListFilter, purpose: str) -> GuardedFetch:
            return make_fetch(key[0], flt, purpose)

        counting = SegmentedCount(
            index, key, generation, job.filter, job.limit, fetch_for, save, self._wall,
            self._parallel, snap.oldest, self._stats,
        )
        state = await counting.run(state)
        if state.done and job.promote_from is not None:
            await index.promote(key, job.promote_from, generation)
        self._signal(key, generation)

    async def _first_page(self, index: PagingIndex, job: Job, fetch: GuardedFetch) -> Count | None:
        """A count with no progress yet starts at the list's head as it is now (a recount's
        fresh generation, or a list whose first page was read at a smaller size)."""
        items, nxt = await fetch(MAX_PAGE, None)
        sids = [m.sid for m in items]
        head = (await index.load(job.key, job.generation)).head
        if head is None:
            head = Head(tuple(sids[:HEAD_SIDS]), 0)
            if not await index.replace_head(job.key, job.generation, None, head):
                return None
            added: int | None = 0
        else:
            found = head.arrivals(sids)
            added = None if found is None else head.added + found
        if added is None:
            return None  # the head moved too far since: the next request re-establishes it
        n = len(items) - added
        count = Count(
            n, nxt, nxt is None, self._wall() if nxt is None else 0.0,
            newest=when(items[0]) if items else 0.0, last=when(items[-1]) if items else 0.0,
        )
        if nxt is not None:
            await index.file(job.key, job.generation, [(n, nxt)])
        if not await index.start_count(job.key, job.generation, count):
            return None
        return count
