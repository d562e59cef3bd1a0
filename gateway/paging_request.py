"""Serving one legacy page from the paging index: read the list's head (counting what arrived),
settle the total (waiting for a running count within the wait budget), read the page from the
nearest checkpoint. docs/paging.md ("How a page is served") describes each step."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway import errors
from gateway.cursor_cache import HEAD_SIDS, Count, Head, ListKey, PagingIndex, Snapshot, Total
from gateway.legacy_page import Window, compose_page, page_bounds, provisional
from gateway.model import ApiError, ListQuery, Message, Page
from gateway.paging_count import MAX_PAGE, Counter, Job
from gateway.paging_estimate import Pace, provisional_total, when
from gateway.paging_walk import GuardedFetch, PagingStats, WalkCut, WallClock
from gateway.upstream import deadline

# Deep pages read this many of the list's first messages to learn what arrived meanwhile.
HEAD_PROBE = 50
# Time kept back from the request's budget when waiting for a count.
WAIT_MARGIN = 1.0


@dataclass(frozen=True, slots=True)
class PagingPolicy:
    """The paging settings one request needs."""

    mode: str  # exact / bounded / off
    bound: int
    bound_as_total: bool
    chunk: int  # upstream_page_size (0: the legacy page size)
    wait: float
    verify_after: float
    wall: WallClock
    parallel: int = 1  # reads one count makes at once (paging_count_parallel)

    def chunk_for(self, query: ListQuery) -> int:
        return self.chunk or query.page_size


StartCount = Callable[[PagingIndex, Job], None]


@dataclass(slots=True)
class _Head:
    """The list's first messages as this request read them."""

    run: list[Message]  # offsets 0..len(run)-1 of the list now
    next: str | None  # cursor to offset len(run); None: the run is the whole list
    added: int  # stored offset s is at offset s + added now
    snap: Snapshot


class PageRequest:
    """One legacy page: head read, total, window."""

    def __init__(
        self, policy: PagingPolicy, counter: Counter, stats: PagingStats,
        start_count: StartCount, index: PagingIndex, key: ListKey, query: ListQuery,
        guard: GuardedFetch,
    ) -> None:
        self.policy, self.counter, self.stats = policy, counter, stats
        self.start_count = start_count
        self.index, self.key, self.query, self.guard = index, key, query, guard
        self.start, self.stop = page_bounds(query.page, query.page_size)
        # One wait budget for the whole request: for a running count, and for a count to
        # reach a deep page.
        wait = policy.wait
        left = deadline.remaining()
        if left is not None:
            wait = min(wait, left - WAIT_MARGIN)
        self.until = time.monotonic() + wait
        # A deep page not yet reachable waits for the count as long as the budget allows.
        self.reach_until = time.monotonic() + (
            left - WAIT_MARGIN if left is not None else max(wait, 0.0)
        )
        # Whether this request had to count (read a list's first page for its count, or wait
        # for a count), for the metrics.
        self.counted = False
        # Whether the page's checkpoint lookup found none (its walk then files its cursors).
        self.missed = False
        # Whether the page waited for the count to reach it.
        self.reached = False

    async def serve(self) -> Page:
        snap = await self.index.snapshot(self.key)
        head = await self._read_head(snap)
        total = await self._total(head) if self.policy.mode != "off" else None
        window = await self._window(head, total)
        if window.end_of_list is not None and self.policy.mode != "off":
            total = await self._settle(head, window.end_of_list, total)
        elif self.reached and total is not None and not total.exact:
            # The page waited for the count to reach it: the count may be done by now.
            count = (await self.index.load(self.key, head.snap.generation)).count
            if count is not None and count.done:
                total = Total(count.n + head.added, exact=True)
        answers = self.stats.answers
        if total is None:
            self.stats.bump(answers, "none")
        elif not total.exact:
            self.stats.bump(answers, "provisional")
        else:
            self.stats.bump(answers, "counted" if self.counted else "exact")
        return compose_page(self.query, window, total, self.guard.requests)

    # --- the head -------------------------------------------------------------------------

    def _head_size(self, snap: Snapshot) -> int:
        chunk = self.policy.chunk_for(self.query)
        if snap.head is None and self.policy.mode != "off":
            return MAX_PAGE if self.policy.chunk else chunk  # also the count's first page
        if self.stop < chunk:
            # The page itself, and one more to know whether more follow unless an exact
            # count will tell.
            known = snap.count is not None and snap.count.done and self.policy.mode != "off"
            return self.stop if known else self.stop + 1
        return min(HEAD_PROBE, chunk) if snap.head is not None else chunk

    async def _read_head(self, snap: Snapshot) -> _Head:
        items, nxt = await self.guard(self._head_size(snap), None, "head")
        run = list(items)
        if snap.head is None:
            return await self._establish(snap, run, nxt)
        found = snap.head.arrivals([m.sid for m in run])
        tokens: list[tuple[int, str]] = []
        # A list that was empty has no old head to look for: it is indexed afresh below.
        while found is None and nxt is not None and snap.head.sids:
            tokens.append((len(run), nxt))
            try:
                more, nxt = await self.guard(MAX_PAGE, nxt, "head")
            except WalkCut as cut:
                if cut.reason != "request_cap":
                    raise
                break
            run.extend(more)
            found = snap.head.arrivals([m.sid for m in run])
        if found is None:
            # The messages the index was built on are gone (deleted, or more arrivals than
            # one request may read), or the list was empty: a fresh generation from this
            # read.
            generation = self.index.new_generation()
            if not await self.index.promote(self.key, snap.generation, generation):
                return await self._view(await self.index.snapshot(self.key), run, nxt)
            return await self._establish(Snapshot(generation, None, None), run, nxt)
        added = snap.head.added + found
        new = Head(tuple(m.sid for m in run[:HEAD_SIDS]), added)
        if new != snap.head and not await self.index.replace_head(
            self.key, snap.generation, snap.head, new
        ):
            return await self._view(await self.index.load(self.key, snap.generation), run, nxt)
        filed = [(t - added, tok) for t, tok in tokens if t < added]
        if nxt is not None and len(run) - added < 0 and added // 500 > snap.head.added // 500:
            filed.append((len(run) - added, nxt))
        await self.index.file(self.key, snap.generation, filed)
        return _Head(run, nxt, added, Snapshot(snap.generation, new, snap.count))

    async def _view(self, snap: Snapshot, run: list[Message], nxt: str | None) -> _Head:
        """Another request updated the head meanwhile: place this read against its state.
        A read that cannot be placed (the other request started a fresh generation) is served
        at ``added = 0``: its shallow pages are right; a deep page may be off by the messages
        that arrived in that instant."""
        found = snap.head.arrivals([m.sid for m in run]) if snap.head else None
        added = snap.head.added + found if snap.head and found is not None else 0
        return _Head(run, nxt, added, snap)

    async def _establish(self, snap: Snapshot, run: list[Message], nxt: str | None) -> _Head:
        """A generation's first read: its head, and the count's first page when it was read
        at the count's page size."""
        self.counted = True
        head = Head(tuple(m.sid for m in run[:HEAD_SIDS]), 0)
        if not await self.index.replace_head(self.key, snap.generation, None, head):
            return await self._view(await self.index.load(self.key, snap.generation), run, nxt)
        count: Count | None = Count(
            len(run), nxt, nxt is None, self.policy.wall() if nxt is None else 0.0,
            newest=when(run[0]) if run else 0.0, last=when(run[-1]) if run else 0.0,
        )
        if not await self.index.start_count(self.key, snap.generation, count):
            count = None
        if nxt is not None:
            await self.index.file(self.key, snap.generation, [(len(run), nxt)])
        return _Head(run, nxt, 0, Snapshot(snap.generation, head, count))

    # --- the total ------------------------------------------------------------------------

    def _limit(self) -> int | None:
        return self.policy.bound if self.policy.mode == "bounded" else None

    def _settled(self, count: Count | None) -> bool:
        return count is not None and (count.done or count.capped)

    async def _total(self, head: _Head) -> Total:
        policy, snap = self.policy, head.snap
        count = snap.count
        if count is not None and count.done:
            self._maybe_verify(snap, count)
            return Total(count.n + head.added, exact=True)
        pace = Pace(policy.parallel)
        while not self._settled(count):
            self.counted = True
            self._ensure_count(head)
            now = time.monotonic()
            if now >= self.until:
                break
            mark = self.counter.mark(self.key, snap.generation)
            seen = await self.index.load(self.key, snap.generation)
            count = seen.count
            if self._settled(count) or self._hopeless(count, seen.oldest, now, pace):
                break
            await self.counter.wait_progress(
                self.key, snap.generation, mark, min(0.25, self.until - now)
            )
            count = (await self.index.load(self.key, snap.generation)).count
        oldest = (await self.index.load(self.key, snap.generation)).oldest
        head.snap = Snapshot(snap.generation, snap.head, count, oldest)
        if count is not None and count.done:
            return Total(count.n + head.added, exact=True)
        counted = (count.n if count else len(head.run)) + head.added
        if count is not None and count.capped and policy.bound_as_total:
            return Total(counted, exact=False)
        if count is None:
            return Total(provisional(counted), exact=False)
        estimate = provisional_total(
            count.seen + head.added, count.newest, count.last, oldest, MAX_PAGE, count.ahead_span
        )
        return Total(estimate, exact=False)

    def _hopeless(self, count: Count | None, oldest: float | None, now: float, pace: Pace) -> bool:
        """Whether the count, at its pace, will not be done before this request must answer:
        then the provisional total is answered at once."""
        if count is None:
            return False
        # The estimate without its margin: what the count most likely still has to read.
        estimate = provisional_total(
            count.seen, count.newest, count.last, oldest, 0, count.ahead_span, factor=1.0
        )
        eta = pace.seconds_to(count.seen, count.walkers, estimate, now)
        return eta is not None and eta > self.until - now

    def _ensure_count(self, head: _Head) -> None:
        generation = head.snap.generation
        if not self.counter.running(self.key, generation):
            job = Job(self.key, generation, self.query.filter, self._limit())
            self.start_count(self.index, job)

    def _maybe_verify(self, snap: Snapshot, count: Count) -> None:
        """Recount in the background once the count is older than ``total_ttl``, to catch
        deletions inside the list; the old generation serves until the new one is done."""
        if self.policy.wall() - count.finished_at < self.policy.verify_after:
            return
        # Every replica names the same recount, so the claim keeps it to one.
        recount = hashlib.sha256(f"{snap.generation}:{count.finished_at}".encode()).hexdigest()
        recount = recount[:12]
        if self.counter.running(self.key, recount):
            return
        job = Job(
            self.key, recount, self.query.filter, self._limit(), promote_from=snap.generation
        )
        self.start_count(self.index, job)

    async def _settle(self, head: _Head, end: int, total: Total | None) -> Total:
        """A walk reached the end of the list at offset ``end``: that is the exact total;
        record it (a count still running, or one that missed a purge at the tail)."""
        count = head.snap.count
        exact = Total(end, exact=True)
        if count is not None and count.done and count.n + head.added == end:
            return exact
        new = Count(end - head.added, None, True, self.policy.wall())
        if count is None:
            await self.index.start_count(self.key, head.snap.generation, new)
        else:
            await self.index.save_count(self.key, head.snap.generation, count, new)
        return exact

    # --- the window -----------------------------------------------------------------------

    async def _window(self, head: _Head, total: Total | None) -> Window:
        run, start, stop = head.run, self.start, self.stop
        if stop <= len(run) or head.next is None:
            more = len(run) > stop or (None if head.next is not None else False)
            end = len(run) if head.next is None else None
            return Window(tuple(run[start:stop]), more, end)
        shown = list(run[start:])
        offset, token = len(run), head.next
        if start > offset:
            offset, token = await self._checkpoint(head, offset, token)
        exact = total is not None and total.exact
        return await self._walk(head, shown, offset, token, exact)

    async def _checkpoint(self, head: _Head, offset: int, token: str) -> tuple[int, str]:
        """The nearest known cursor at or before the page's start. When it is more than one
        read away: in 'off' mode walk there if the request cap allows; otherwise wait for the
        background count (which files checkpoints as it goes) as long as the request's budget
        allows, and answer 503 at once when the count's pace says it will not get there."""
        policy, generation = self.policy, head.snap.generation
        room = (self.guard.cap or 0) - self.guard.requests - 2
        eta: float | None = None
        pace = Pace(policy.parallel)
        while True:
            mark = self.counter.mark(self.key, generation)
            found = await self.index.nearest(self.key, generation, self.start - head.added)
            self.missed = found is None
            if found is not None and found[0] + head.added > offset:
                offset, token = found[0] + head.added, found[1]
            reads = -(-(self.start - offset) // MAX_PAGE)
            if reads <= 1 or (policy.mode == "off" and reads <= room):
                break
            count = (await self.index.load(self.key, generation)).count
            if self._settled(count):
                break
            now = time.monotonic()
            if now >= self.reach_until:
                break
            if count is not None:
                # How far the count has got, its segments further down included: they join
                # the count's offsets as it reaches them.
                eta = pace.seconds_to(count.seen, count.walkers, self.start - head.added, now)
                if eta is not None and eta > self.reach_until - now:
                    break  # not within this request: say so now, with when to come back
            self._ensure_count(head)
            self.reached = True
            await self.counter.wait_progress(self.key, generation, mark, 0.25)
        if reads > 1 and reads > room:
            retry = max(1, min(int(eta) + 1, 3600)) if eta else 5
            raise ApiError(
                503,
                f"Page {self.query.page} is not reachable yet: the list is still being indexed. "
                f"Retry in about {retry} s.",
                errors.UPSTREAM_UNAVAILABLE,
                headers={"Retry-After": str(retry)},
            )
        return offset, token

    async def _walk(
        self, head: _Head, shown: list[Message], offset: int, token: str | None, exact: bool
    ) -> Window:
        chunk = self.policy.chunk_for(self.query)
        filed: list[tuple[int, str]] = []
        start, stop = self.start, self.stop
        try:
            while True:
                # Up to the page's end, and one more to learn whether more follow unless an
                # exact total tells; from the page's start in chunks (the legacy page size
                # with upstream_page_size 0).
                want = stop - offset + (0 if exact else 1)
                if offset >= start:
                    size = min(chunk, want)
                elif want > MAX_PAGE:
                    # Two reads either way: end the first at the page's start, so the cursor
                    # filed there makes this page one read from now on.
                    size = min(MAX_PAGE, start - offset)
                else:
                    size = want
                items, nxt = await self.guard(size, token)
                end = offset + len(items)
                shown.extend(items[max(start - offset, 0) : stop - offset])
                if nxt is None:
                    return Window(tuple(shown), more=end > stop, end_of_list=end)
                filed.append((end - head.added, nxt))
                if end >= stop:
                    return Window(tuple(shown), more=True if end > stop else None)
                offset, token = end, nxt
        finally:
            # One read from a checkpoint needs no new one; a walk from where no checkpoint
            # was, or a longer one, leaves its cursors.
            if len(filed) > 1 or (filed and self.missed):
                await self.index.file(self.key, head.snap.generation, filed)
