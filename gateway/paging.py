"""Legacy page-number paging over the current API's forward-only cursors.

Legacy clients ask for page N of size S and read ``total``/``numpages``; the current API only
hands out an opaque cursor to the next page and no totals. This module serves a legacy page
from the list's *paging index* (:mod:`gateway.cursor_cache`, kept in the state store so every
replica shares it):

- every request first reads the list's head: that is page 0 itself for pollers, and it tells
  how many messages arrived since the index last looked (``added``), so offsets stay exact;
- a deep page is read from the nearest checkpoint at or before its first offset: one read
  for a page of up to 50 (checkpoints are at most 949 apart), two for some larger ones;
- the count runs in the background (:mod:`gateway.paging_count`), several reads at once
  (:mod:`gateway.paging_segments`), and outlives the request; a request waits for it within
  ``paging_wait`` and the budget, and otherwise answers a provisional total meant to err high
  (docs/paging.md says what each answer means);
- every read goes through a guard (:mod:`gateway.paging_walk`) that caps reads per request and
  per account and cuts a cursor chain that loops.

One page's steps are in :mod:`gateway.paging_request`, the page arithmetic in
:mod:`gateway.legacy_page`; the ``Paginator`` holds what outlives a request (the index's
stores, the counter, the read cap, the metrics) and falls back to process-local state when the
shared store fails.

docs/paging.md describes the guarantees, docs/performance.md the measurements.
"""

from __future__ import annotations

import time

from gateway import errors
from gateway.config import Settings
from gateway.cursor_cache import ListKey, PagingIndex
from gateway.legacy_page import MAX_UPSTREAM_PAGE, num_pages
from gateway.model import ListFilter, ListQuery, Page
from gateway.paging_count import Counter, Job
from gateway.paging_request import PageRequest, PagingPolicy
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

# num_pages: the page count rule, shared with the /SMS/Messages upstream adapter.
__all__ = ["MAX_UPSTREAM_PAGE", "Paginator", "num_pages"]

# Seconds the shared store is left alone after it failed (the local fallback serves).
STORE_RETRY = 5.0


class Paginator:
    """Serves legacy page N of size S for an account's filtered list (see module docs)."""

    def __init__(
        self, settings: Settings, *, store: StateStore | None = None,
        wall: WallClock = time.time,
    ) -> None:
        self.policy = PagingPolicy(
            mode=settings.total_mode, bound=settings.total_bound,
            bound_as_total=settings.paging_bound_as_total, chunk=settings.upstream_page_size,
            wait=settings.paging_wait, verify_after=settings.total_ttl, wall=wall,
            parallel=settings.paging_count_parallel,
        )
        self._cap = settings.paging_max_requests
        self.stats = PagingStats()
        self.local = MemoryStore(settings.cursor_cache_size)
        shared = store if store is not None else self.local
        self.shared = PagingIndex(shared, settings.cursor_ttl)
        self._fallback = PagingIndex(self.local, settings.cursor_ttl)
        self._shared_down_until = 0.0
        self.rate = AccountRate(self.local, settings.paging_account_rps, self.stats, wall)
        self.counter = Counter(
            settings.paging_count_concurrency, wall, settings.paging_count_parallel, self.stats
        )

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
                return await self._request(index, key, query, guard, fetch).serve()
            except StoreUnavailable:
                if index is self._fallback:
                    raise
                self.stats.store_fallbacks += 1
                self._shared_down_until = time.monotonic() + STORE_RETRY
                return await self._request(self._fallback, key, query, guard, fetch).serve()
        except WalkCut as cut:
            raise cut.api_error() from None

    def _request(
        self, index: PagingIndex, key: ListKey, query: ListQuery, guard: GuardedFetch,
        fetch: FetchPage,
    ) -> PageRequest:
        def start_count(index: PagingIndex, job: Job) -> None:
            # The count reads with the credentials inside ``fetch``, for as long as it runs.
            def make_fetch(account: str, flt: ListFilter, purpose: str) -> GuardedFetch:
                return GuardedFetch(fetch, flt, account, self.rate, self.stats, purpose, None)

            self.counter.start(index, job, make_fetch)

        return PageRequest(
            self.policy, self.counter, self.stats, start_count, index, key, query, guard
        )
    def _chunk_for(self, query: ListQuery) -> int:
        return self.policy.chunk_for(query)
