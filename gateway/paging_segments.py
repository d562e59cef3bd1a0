"""Counting one list in segments at once, so that a long list is counted in a fraction of the
time one walk takes (docs/paging.md, "Counting in segments").

The count itself, the *frontier*, walks the list from its head as a lone count would. Beside
it, up to ``parallel - 1`` *segments* are walked at the same time, each from a cursor further
down the list. A probe ``DateSent<`` (on or before a day) with PageSize 1 names the newest
message sent on or before that day, and hands out the cursor after it. A segment runs from
that cursor down to the message the next segment starts after, that message included. The
last segment runs to the end of the list.

Nothing is counted by date. A segment is a run of the list between two of its messages, so
messages never sent (they have no ``date_sent``) are counted wherever they stand.

**Joining.** When the frontier reads the message a segment starts after, it joins it:
- a finished segment adds its length, and its checkpoints now have known offsets;
- an unfinished segment hands over its cursor, and the frontier goes on from there.

**Splitting.** A walker that finishes splits the widest span of days still to read with one
more probe, so an uneven account keeps every walker busy.

**When dates mislead.** Dates only choose where segments start. A walker may read messages a
day older than the message it must stop at without having seen it. That means the list is not
in date order there, so the segments are dropped and the frontier counts on alone: slower,
never wrong.

**Where progress lives.** Progress beyond the frontier lives in this process only. The stored
count is the frontier's (plus ``ahead``, how far the segments got, for estimates). A count
resumed on another replica plans its segments again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import date
from typing import Any

from gateway.cursor_cache import COUNT_STEP, Count, ListKey, PagingIndex
from gateway.model import ApiError, ListFilter, Message
from gateway.paging_estimate import day_start, oldest_day, probe_filter, when
from gateway.paging_spans import Segment, place, plan_days, widest_cut
from gateway.paging_walk import GuardedFetch, PagingStats, WalkCut
from gateway.state.base import StoreUnavailable

log = logging.getLogger(__name__)

# A walker that reads messages this much older than the one it must stop at, without having
# seen it, is not in date order: the segments are dropped.
SLACK = 86400.0
DAY = 86400.0
# Seconds a count runs before it plans segments and probes the oldest day: a short list is
# counted by then, with no probe at all.
PLAN_DELAY = 0.5
# Days probed at once by the search for the list's oldest day.
FAN = 3
# A count's failed read (429, a 5xx after the client's retries) is tried again this many
# times, after 1 s, 2 s, 4 s.
READ_RETRIES = 3
RETRY_PAUSE = 1.0

# (filter, purpose) -> guarded reads with the credentials of the request that started the count
MakeFetch = Callable[[ListFilter, str], GuardedFetch]
Save = Callable[[Count, Count, Sequence[tuple[int, str]]], Awaitable[bool]]


class SegmentedCount:
    """One count's frontier and segments (see module docs); ``run`` returns the count as it
    stands when the frontier stops: done, capped, or handed to another process."""

    def __init__(
        self, index: PagingIndex, key: ListKey, generation: str, flt: ListFilter,
        limit: int | None, make_fetch: MakeFetch, save: Save, wall: Callable[[], float],
        parallel: int, oldest: float | None, stats: PagingStats,
    ) -> None:
        self._index, self._key, self._generation = index, key, generation
        self._filter, self._limit = flt, limit
        self._make_fetch, self._save, self._wall = make_fetch, save, wall
        # A one-day list cannot be cut by day; a bounded count stops early anyway.
        self._parallel = parallel if limit is None and flt.date_sent is None else 1
        self._oldest = oldest
        self._stats = stats
        self.segments: list[Segment] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._splitting = False
        self._planned = self._parallel < 2
        self.state = Count(0, None, False)

    # --- the frontier ---------------------------------------------------------------------

    async def run(self, state: Count) -> Count:
        self.state = state
        fetch = self._make_fetch(self._filter, "count")
        self._spawn(self._plan())
        failures = 0
        try:
            while not self.state.done:
                s = self.state
                if self._limit is not None and s.n >= self._limit:
                    capped = Count(
                        s.n, s.next, False, 0.0, capped=True, newest=s.newest, last=s.last
                    )
                    await self._save(s, capped, [])
                    return capped
                try:
                    items, nxt = await fetch(COUNT_STEP, s.next)
                except WalkCut:
                    # A chain that loops is counted as far as it made sense.
                    items, nxt = [], None
                except (ApiError, OSError):
                    # Tried again later; then the count stops, its progress saved, and the
                    # next request for the list resumes it.
                    failures += 1
                    if not await self._pause(failures):
                        raise
                    fetch = self._make_fetch(self._filter, "count")
                    continue
                failures = 0
                new, points, joined = self._advance(items, nxt)
                if joined:
                    # The frontier goes on from a segment's cursor: a fresh walk, whose pages
                    # may repeat what its last page read beyond the segment's start.
                    fetch = self._make_fetch(self._filter, "count")
                if not await self._save(s, new, points):
                    return s  # someone else moved this count on (a lapsed claim): let them
                self.state = new
        finally:
            await self._stop_all()
        return self.state

    def _advance(
        self, items: Sequence[Message], nxt: str | None
    ) -> tuple[Count, list[tuple[int, str]], bool]:
        """The count after the frontier read ``items``, the checkpoints to file, and whether
        it joined a segment."""
        s = self.state
        if self.segments:
            first = self.segments[0]
            sids = [m.sid for m in items]
            if first.after in sids:
                return *self._join(s.n + sids.index(first.after) + 1), True
            if nxt is None or (items and when(items[-1]) < first.after_when - SLACK):
                self._drop("the frontier passed a segment's start")
        n = s.n + len(items)
        new = Count(
            n, nxt, nxt is None, self._wall() if nxt is None else 0.0, newest=s.newest,
            last=when(items[-1]) if items else s.last, ahead=self._ahead(),
            ahead_span=self._ahead_span(), walkers=self._walking(),
        )
        return new, [(n, nxt)] if nxt is not None else [], False

    def _join(self, base: int) -> tuple[Count, list[tuple[int, str]]]:
        """The frontier has counted ``base`` messages, the first segment's ``after`` the last
        of them: take in the segments it now reaches."""
        points: list[tuple[int, str]] = []
        newest = self.state.newest
        while self.segments:
            seg = self.segments.pop(0)
            if seg.task is not None:
                seg.task.cancel()
            points += [(base + r, token) for r, token in seg.points]
            if not seg.done:
                return Count(
                    base + seg.n, seg.next, False, 0.0, newest=newest, last=seg.last,
                    ahead=self._ahead(), ahead_span=self._ahead_span(),
                    walkers=self._walking(),
                ), points
            base += seg.n
            last = seg.last
        return Count(base, None, True, self._wall(), newest=newest, last=last), points

    def _ahead(self) -> int:
        return sum(seg.n for seg in self.segments)

    def _ahead_span(self) -> float:
        return sum(max(seg.after_when - seg.last, 0.0) for seg in self.segments)

    # --- segments -------------------------------------------------------------------------

    async def _walk(self, seg: Segment) -> None:
        fetch = self._make_fetch(self._filter, "count")
        failures = 0
        while not seg.done:
            try:
                items, nxt = await fetch(COUNT_STEP, seg.next)
            except WalkCut as cut:
                self._drop(f"a segment's cursor chain does not progress ({cut.reason})")
                return
            except (ApiError, OSError) as exc:
                # Upstream refused or failed this read (429, a 5xx after the client's
                # retries): try again later; after that, leave the rest of the segment to the
                # count's walk from the head, which takes it over when it gets there.
                failures += 1
                if not await self._pause(failures):
                    log.info(
                        "paging count: a segment stops after %d failed reads (%s); the walk "
                        "from the head will read on from where it got", failures,
                        type(exc).__name__,
                    )
                    seg.task = None
                    self._stats.bump(self._stats.segments, "stopped")
                    return
                # A fresh guard: the failed read's cursor is asked for again.
                fetch = self._make_fetch(self._filter, "count")
                continue
            if seg not in self.segments:
                return  # joined by the frontier meanwhile
            i = self.segments.index(seg)
            end = self.segments[i + 1] if i + 1 < len(self.segments) else None
            sids = [m.sid for m in items]
            if end is not None and end.after in sids:
                seg.n += sids.index(end.after) + 1
                seg.last, seg.done = end.after_when, True
                break
            seg.n += len(items)
            seg.last = when(items[-1]) if items else seg.last
            if nxt is None:
                if end is not None:
                    self._drop("a segment reached the list's end before the next one")
                    return
                seg.done = True
                break
            if end is not None and seg.last < end.after_when - SLACK:
                self._drop("a segment passed the next one's start")
                return
            seg.next = nxt
            seg.points.append((seg.n, nxt))
        self._spawn(self._split())

    @staticmethod
    async def _pause(failures: int) -> bool:
        """After a read failed ``failures`` times in a row: wait before the next try (1 s,
        2 s, 4 s), or False when the tries are spent."""
        if failures > READ_RETRIES:
            return False
        await asyncio.sleep(RETRY_PAUSE * 2 ** (failures - 1))
        return True

    def _walkers(self) -> int:
        return 1 + sum(1 for seg in self.segments if not seg.done and seg.task is not None)

    def _walking(self) -> int:
        """For the stored count: the walks now, 0 while segments may still be planned."""
        return self._walkers() if self._planned else 0

    async def _plan(self) -> None:
        """The oldest day, then a cut of the rest into ``parallel`` spans, probed at once."""
        await asyncio.sleep(PLAN_DELAY)
        if self.state.done:
            return
        if self._oldest is None:
            self._oldest = await self._find_oldest()
            if self._oldest is None:
                self._planned = True  # no segments: the count walks alone
                return
        if self._parallel < 2 or self.state.done:
            return
        days = plan_days(self._oldest, self.state.last, self._parallel)
        found = await asyncio.gather(*(self._probe(day) for day in days))
        for seg in found:
            if seg is not None:
                self._insert(seg)
        self._planned = True
        self._spawn(self._split())

    async def _find_oldest(self) -> float | None:
        """The list's oldest day, for provisional totals and the last span's end."""
        snap = await self._index.load(self._key, self._generation)
        if snap.oldest is not None:
            return snap.oldest

        async def exists(day: date) -> bool:
            probe = self._make_fetch(probe_filter(self._filter, day), "probe")
            items, _ = await probe(1, None)
            return bool(items)

        try:
            # Three days a round: ~7 rounds over the days since 2008 (1 s at 150 ms), in 21
            # requests of one message; more at once saves little time for many more requests.
            fan = min(max(self._parallel - 1, 1), FAN)
            day = await oldest_day(self._filter, self.state.last, exists, fan)
        except (ApiError, WalkCut, OSError):
            return None  # the estimate stays the plain one; no segments
        oldest = day_start(day)
        await self._index.set_oldest(self._key, self._generation, oldest)
        return oldest

    async def _probe(self, day: date) -> Segment | None:
        """The segment that starts after the newest message sent on or before ``day``."""
        try:
            probe = self._make_fetch(probe_filter(self._filter, day), "probe")
            items, nxt = await probe(1, None)
        except (ApiError, WalkCut, OSError):
            return None
        if not items or nxt is None:
            # No cursor: nothing sent follows, but messages never sent may (they match no
            # date filter); the walk before this point reads them.
            return None
        at = when(items[0])
        return Segment(items[0].sid, at, nxt, last=at, points=[(0, nxt)])

    def _insert(self, seg: Segment) -> bool:
        """Place ``seg`` where its ``after`` stands, if no walker has read that far yet."""
        if self.state.done:
            return False
        at = place(self.segments, self.state.last, seg)
        if at is None:
            return False
        self.segments.insert(at, seg)
        self._stats.bump(self._stats.segments, "started")
        seg.task = self._spawn(self._walk(seg))
        return True

    async def _split(self) -> None:
        """Cut the widest span still to read in two, while walkers are free."""
        if self._splitting or self._oldest is None:
            return
        self._splitting = True
        try:
            while self._walkers() < self._parallel and not self.state.done:
                widest = widest_cut(self.segments, self.state.last, self._oldest)
                if widest is None:
                    log.debug("paging count: no span left to split")
                    return
                seg = await self._probe(widest)
                if seg is None or not self._insert(seg):
                    log.debug("paging count: the split at %s did not fit", widest)
                    return
        finally:
            self._splitting = False

    def _drop(self, why: str) -> None:
        if not self.segments:
            return
        self._stats.bump(self._stats.segments, "dropped")
        log.info("paging count: segments dropped, counting on from the head: %s", why)
        current = asyncio.current_task()
        for seg in self.segments:
            if seg.task is not None and seg.task is not current:
                seg.task.cancel()
        self.segments.clear()
        self._parallel = 1
        self._planned = True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._reap)
        return task

    def _reap(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, StoreUnavailable):
                return  # the frontier meets the store too and stops the count
            log.warning("paging count: a segment task failed: %s", type(exc).__name__)

    async def _stop_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
