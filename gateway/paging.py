"""Legacy page-number paging over the current API's forward-only cursors.

Legacy clients ask for page N of size S and read ``total``/``numpages``; the current API only
hands out an opaque cursor to the next page and no totals. This module serves a legacy page
from the list's *paging index* (:mod:`gateway.cursor_cache`, kept in the state store so every
replica shares it):

- every request first reads the list's head: that is page 0 itself for pollers, and it tells
  how many messages arrived since the index last looked (``added``), so offsets stay exact;
- a deep page is read from the nearest checkpoint at or before its first offset: one read,
  two when it straddles a checkpoint;
- the count runs in the background (:mod:`gateway.paging_count`) and outlives the request; a
  request waits for it within ``paging_wait`` and otherwise answers a provisional total that
  errs high (docs/paging.md says what each answer means);
- every read goes through a guard (:mod:`gateway.paging_walk`) that caps reads per request and
  per account and cuts a cursor chain that loops.

docs/paging.md describes the guarantees, docs/performance.md the measurements.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from gateway import errors
from gateway.config import ConfigError, Settings
from gateway.cursor_cache import HEAD_SIDS, Count, Head, ListKey, PagingIndex, Snapshot, Total
from gateway.model import ApiError, ListQuery, Message, Page
from gateway.paging_count import MAX_PAGE, Counter, Job
from gateway.paging_walk import (
    AccountRate,
    FetchPage,
    GuardedFetch,
    PagingStats,
    WalkCut,
    WallClock,
)
from gateway.state.base import StateStore, StoreUnavailable
from gateway.state.memory import MemoryStore
from gateway.upstream import deadline

MAX_UPSTREAM_PAGE = MAX_PAGE
# Deep pages read this many of the list's first messages to learn what arrived meanwhile.
HEAD_PROBE = 50
# Seconds the shared store is left alone after it failed (the local fallback serves).
STORE_RETRY = 5.0
# Time kept back from the request's budget when waiting for a count.
WAIT_MARGIN = 1.0


# --- pure arithmetic ------------------------------------------------------------------------


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    """Offsets [start, stop) of legacy page ``page``."""
    start = page * page_size
    return start, start + page_size


def num_pages(total: int, page_size: int) -> int:
    # An empty list still has its page 0 (empty), so first and last page links stay valid.
    return max(1, -(-total // page_size))


def provisional(counted: int, chunk: int = MAX_PAGE) -> int:
    """A running count's stand-in total: twice what is counted, at least one upstream page
    more. Meant to err high (docs/paging.md): a client looping ``Page < numpages`` then reads
    empty trailing pages rather than stopping early."""
    return max(2 * counted, counted + chunk)


@dataclass(frozen=True, slots=True)
class Window:
    """What one walk found for offsets [start, stop)."""

    messages: tuple[Message, ...]
    # Whether messages exist at or after ``stop``: True/False when the walk saw it, None when
    # the read ended exactly at ``stop`` with a cursor.
    more: bool | None
    # Offset just past the list's last message, when the walk reached the end of the list.
    end_of_list: int | None = None


def compose_page(query: ListQuery, window: Window, total: Total | None, requests: int) -> Page:
    """The legacy page from what the walk saw and what is known about the list's size."""
    start, stop = page_bounds(query.page, query.page_size)
    shown = len(window.messages)
    if window.more is not None:
        has_next = window.more
    elif total is not None and total.exact:
        has_next = stop < total.count
    else:
        has_next = True
    if total is None:
        return Page(
            messages=window.messages, page=query.page, page_size=query.page_size,
            total_is_exact=False, has_next=has_next, upstream_requests=requests,
        )
    # What this page proves is a lower bound: a provisional total must not claim fewer
    # messages than the client is shown, and while there is a next page numpages stays at
    # least one page ahead, so `while page < numpages` loops never stop early.
    proven = start + shown + int(has_next) if shown else 0
    count = max(total.count, proven)
    return Page(
        messages=window.messages, page=query.page, page_size=query.page_size, total=count,
        num_pages=num_pages(count, query.page_size), total_is_exact=total.exact,
        has_next=has_next, upstream_requests=requests,
    )


# --- one request ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Head:
    """The list's first messages as this request read them."""

    run: list[Message]  # offsets 0..len(run)-1 of the list now
    next: str | None  # cursor to offset len(run); None: the run is the whole list
    added: int  # stored offset s is at offset s + added now
    snap: Snapshot


class Paginator:
    """Serves legacy page N of size S for an account's filtered list (see module docs)."""

    def __init__(
        self, settings: Settings, *, store: StateStore | None = None,
        wall: WallClock = time.time,
    ) -> None:
        if not 0 <= settings.upstream_page_size <= MAX_UPSTREAM_PAGE:
            raise ConfigError(
                "setting 'upstream_page_size' (GATEWAY_UPSTREAM_PAGE_SIZE): "
                f"{settings.upstream_page_size} is not within 0..{MAX_UPSTREAM_PAGE}"
            )
        if settings.total_bound < 1 or settings.cursor_cache_size < 1:
            raise ConfigError("settings 'total_bound' and 'cursor_cache_size' must be >= 1")
        self._mode = settings.total_mode
        self._bound = settings.total_bound
        self._bound_as_total = settings.paging_bound_as_total
        self._chunk = settings.upstream_page_size
        self._wait = settings.paging_wait
        self._cap = settings.paging_max_requests
        self._verify_after = settings.total_ttl
        self._wall = wall
        self.stats = PagingStats()
        self.local = MemoryStore(settings.cursor_cache_size)
        shared = store if store is not None else self.local
        self.shared = PagingIndex(shared, settings.cursor_ttl)
        self._fallback = PagingIndex(self.local, settings.cursor_ttl)
        self._shared_down_until = 0.0
        self.rate = AccountRate(shared, self.local, settings.paging_account_rps, self.stats, wall)
        self.counter = Counter(settings.paging_count_concurrency, wall)

    async def close(self) -> None:
        await self.counter.close()

    async def page(self, account_sid: str, query: ListQuery, fetch: FetchPage) -> Page:
        if query.page < 0 or not 1 <= query.page_size <= MAX_UPSTREAM_PAGE:
            # The dialects validate first; this keeps a bad query from reaching upstream.
            raise errors.bad_request(
                f"Invalid page {query.page} or page size {query.page_size}"
            )
        key: ListKey = (account_sid, query.filter.cache_key())
        # A small upstream_page_size needs several reads for one big legacy page.
        cap = max(self._cap, -(-query.page_size // self._chunk_for(query)) + 3)
        guard = GuardedFetch(fetch, query.filter, account_sid, self.rate, self.stats, "page", cap)
        index = self.shared if time.monotonic() >= self._shared_down_until else self._fallback
        try:
            try:
                return await _Request(self, index, key, query, guard, fetch).serve()
            except StoreUnavailable:
                if index is self._fallback:
                    raise
                self.stats.store_fallbacks += 1
                self._shared_down_until = time.monotonic() + STORE_RETRY
                return await _Request(self, self._fallback, key, query, guard, fetch).serve()
        except WalkCut as cut:
            raise cut.api_error() from None

    def _chunk_for(self, query: ListQuery) -> int:
        return self._chunk or query.page_size

    def _start_count(self, index: PagingIndex, job: Job, fetch: FetchPage, query: ListQuery) -> None:
        def make_fetch(account: str) -> GuardedFetch:
            return GuardedFetch(fetch, query.filter, account, self.rate, self.stats, "count", None)

        self.counter.start(index, job, make_fetch)


class _Request:
    """One legacy page: head read, total, window."""

    def __init__(
        self, p: Paginator, index: PagingIndex, key: ListKey, query: ListQuery,
        guard: GuardedFetch, fetch: FetchPage,
    ) -> None:
        self.p, self.index, self.key, self.query = p, index, key, query
        self.guard, self.fetch = guard, fetch
        self.start, self.stop = page_bounds(query.page, query.page_size)
        # One wait budget for the whole request: for a running count, and for a count to
        # reach a deep page.
        wait = p._wait
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

    async def serve(self) -> Page:
        snap = await self.index.snapshot(self.key)
        head = await self._read_head(snap)
        total = await self._total(head) if self.p._mode != "off" else None
        window = await self._window(head, total)
        if window.end_of_list is not None and self.p._mode != "off":
            total = await self._settle(head, window.end_of_list, total)
        answers = self.p.stats.answers
        if total is None:
            self.p.stats.bump(answers, "none")
        elif not total.exact:
            self.p.stats.bump(answers, "provisional")
        else:
            self.p.stats.bump(answers, "counted" if self.counted else "exact")
        return compose_page(self.query, window, total, self.guard.requests)

    # --- the head -------------------------------------------------------------------------

    def _head_size(self, snap: Snapshot) -> int:
        chunk = self.p._chunk_for(self.query)
        if snap.head is None and self.p._mode != "off":
            return MAX_PAGE if self.p._chunk else chunk  # also the count's first page
        if self.stop < chunk:
            # The page itself, and one more to know whether more follow unless an exact
            # count will tell.
            known = snap.count is not None and snap.count.done and self.p._mode != "off"
            return self.stop if known else self.stop + 1
        return min(HEAD_PROBE, chunk) if snap.head is not None else chunk

    async def _read_head(self, snap: Snapshot) -> _Head:
        items, nxt = await self.guard(self._head_size(snap), None, "head")
        run = list(items)
        if snap.head is None:
            return await self._establish(snap, run, nxt)
        found = snap.head.arrivals([m.sid for m in run])
        tokens: list[tuple[int, str]] = []
        while found is None and nxt is not None:
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
            # one request may read): start a fresh generation from this read.
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
        """Another request updated the head meanwhile: place this read against its state."""
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
            len(run), nxt, nxt is None, self.p._wall() if nxt is None else 0.0
        )
        if not await self.index.start_count(self.key, snap.generation, count):
            count = None
        if nxt is not None:
            await self.index.file(self.key, snap.generation, [(len(run), nxt)])
        return _Head(run, nxt, 0, Snapshot(snap.generation, head, count))

    # --- the total ------------------------------------------------------------------------

    def _limit(self) -> int | None:
        return self.p._bound if self.p._mode == "bounded" else None

    def _settled(self, count: Count | None) -> bool:
        return count is not None and (count.done or count.capped)

    async def _total(self, head: _Head) -> Total:
        p, snap = self.p, head.snap
        count = snap.count
        if count is not None and count.done:
            self._maybe_verify(snap, count)
            return Total(count.n + head.added, exact=True)
        while not self._settled(count):
            self.counted = True
            self._ensure_count(head)
            now = time.monotonic()
            if now >= self.until:
                break
            mark = p.counter.mark(self.key, snap.generation)
            count = (await self.index.load(self.key, snap.generation)).count
            if self._settled(count):
                break
            await p.counter.wait_progress(
                self.key, snap.generation, mark, min(0.25, self.until - now)
            )
            count = (await self.index.load(self.key, snap.generation)).count
        head.snap = Snapshot(snap.generation, snap.head, count)
        if count is not None and count.done:
            return Total(count.n + head.added, exact=True)
        counted = (count.n if count else len(head.run)) + head.added
        if count is not None and count.capped and p._bound_as_total:
            return Total(counted, exact=False)
        return Total(provisional(counted), exact=False)

    def _ensure_count(self, head: _Head) -> None:
        generation = head.snap.generation
        if not self.p.counter.running(self.key, generation):
            job = Job(self.key, generation, self._limit())
            self.p._start_count(self.index, job, self.fetch, self.query)

    def _maybe_verify(self, snap: Snapshot, count: Count) -> None:
        """Recount in the background once the count is older than ``total_ttl``, to catch
        deletions inside the list; the old generation serves until the new one is done."""
        if self.p._wall() - count.finished_at < self.p._verify_after:
            return
        # Every replica names the same recount, so the claim keeps it to one.
        recount = hashlib.sha256(f"{snap.generation}:{count.finished_at}".encode()).hexdigest()
        recount = recount[:12]
        if self.p.counter.running(self.key, recount):
            return
        job = Job(self.key, recount, self._limit(), promote_from=snap.generation)
        self.p._start_count(self.index, job, self.fetch, self.query)

    async def _settle(self, head: _Head, end: int, total: Total | None) -> Total:
        """A walk reached the end of the list at offset ``end``: that is the exact total;
        record it (a count still running, or one that missed a purge at the tail)."""
        count = head.snap.count
        exact = Total(end, exact=True)
        if count is not None and count.done and count.n + head.added == end:
            return exact
        new = Count(end - head.added, None, True, self.p._wall())
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
        read away: in 'off' mode walk there if the request cap allows; otherwise wait (within
        the wait budget) for the background count, which files checkpoints as it goes."""
        p, generation = self.p, head.snap.generation
        room = (self.guard.cap or 0) - self.guard.requests - 2
        while True:
            mark = p.counter.mark(self.key, generation)
            found = await self.index.nearest(self.key, generation, self.start - head.added)
            if found is not None and found[0] + head.added > offset:
                offset, token = found[0] + head.added, found[1]
            reads = -(-(self.start - offset) // MAX_PAGE)
            if reads <= 1 or (p._mode == "off" and reads <= room):
                break
            if self._settled((await self.index.load(self.key, generation)).count):
                break
            if time.monotonic() >= self.reach_until:
                break
            self._ensure_count(head)
            await p.counter.wait_progress(self.key, generation, mark, 0.25)
        if reads > 1 and reads > room:
            raise ApiError(
                503,
                f"Page {self.query.page} is not reachable yet: the list is still being indexed. "
                "Retry shortly.",
                errors.UPSTREAM_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        return offset, token

    async def _walk(
        self, head: _Head, shown: list[Message], offset: int, token: str | None, exact: bool
    ) -> Window:
        chunk = self.p._chunk_for(self.query)
        filed: list[tuple[int, str]] = []
        start, stop = self.start, self.stop
        try:
            while True:
                # Up to the page's end, and one more to learn whether more follow unless an
                # exact total tells; from the page's start in chunks (the legacy page size
                # with upstream_page_size 0).
                want = stop - offset + (0 if exact else 1)
                size = min(chunk, want) if offset >= start else min(MAX_PAGE, want)
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
            await self.index.file(self.key, head.snap.generation, filed)
