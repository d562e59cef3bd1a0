"""Legacy page-number paging over the current API's forward-only cursors.

Legacy clients ask for page N of size S and read ``total``/``numpages``; the current API only
hands out an opaque cursor to the next page and no totals. This module translates:

- it reads upstream in *chunks* of one size (``upstream_page_size``, 1000 by default) and slices
  legacy pages out of them, so a remembered cursor marks a position (offset = index x chunk)
  that serves every legacy page size;
- it remembers each cursor it passes (:class:`~gateway.cursor_cache.CursorCache`) and starts a
  walk from the nearest remembered one at or before the page wanted;
- it counts totals by walking the list at the maximum page size, once per ``total_ttl``,
  resuming from the furthest cursor it knows and remembering the cursors it passes;
- one lock per list keeps two concurrent requests for a list from walking it twice; a page that
  is one read from a known position with a known total (every poller's warm page 0) needs none.

Upstream I/O is the injected ``fetch``; the arithmetic is in pure functions. docs/paging.md
describes the guarantees, docs/performance.md the measurements behind the chunk size.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gateway import errors
from gateway.config import ConfigError, Settings
from gateway.cursor_cache import Clock, CursorCache, ListKey, Total
from gateway.model import ListFilter, ListQuery, Message, Page

# fetch(filter, page_size, page_token) -> (messages, next page token or None)
FetchPage = Callable[[ListFilter, int, str | None], Awaitable[tuple[Sequence[Message], str | None]]]

MAX_UPSTREAM_PAGE = 1000


# --- pure arithmetic ------------------------------------------------------------------------


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    """Offsets [start, stop) of legacy page ``page``."""
    start = page * page_size
    return start, start + page_size


def num_pages(total: int, page_size: int) -> int:
    # An empty list still has its page 0 (empty), so first and last page links stay valid.
    return max(1, -(-total // page_size))


@dataclass(frozen=True, slots=True)
class Window:
    """What one walk found for offsets [start, stop)."""

    messages: tuple[Message, ...]
    # Whether messages exist at or after ``stop``: True/False when the walk saw it, None when
    # the last chunk ended exactly at ``stop`` with a cursor (upstream may hand out a cursor to
    # an empty page, so that is not proof).
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
            messages=window.messages,
            page=query.page,
            page_size=query.page_size,
            total_is_exact=False,
            has_next=has_next,
            upstream_requests=requests,
        )
    # What this page itself proves is a lower bound too: a total cached a moment ago (or a
    # bounded count) must not claim fewer messages than the client is being shown.
    proven = start + shown + int(has_next) if shown else 0
    count = max(total.count, proven)
    return Page(
        messages=window.messages,
        page=query.page,
        page_size=query.page_size,
        total=count,
        num_pages=num_pages(count, query.page_size),
        total_is_exact=total.exact,
        has_next=has_next,
        upstream_requests=requests,
    )


# --- walks (the I/O) ------------------------------------------------------------------------


class _Walk:
    """One request's walks along one list's cursor chain; counts its upstream requests."""

    def __init__(self, cache: CursorCache, key: ListKey, flt: ListFilter, fetch: FetchPage) -> None:
        self._cache = cache
        self._key = key
        self._filter = flt
        self._fetch = fetch
        self.requests = 0
        self.head_checked = False

    async def _get(self, size: int, token: str | None) -> tuple[Sequence[Message], str | None]:
        items, nxt = await self._fetch(self._filter, size, token)
        self.requests += 1
        if token is None:
            self._cache.observe_head(self._key, items[0].sid if items else None)
            self.head_checked = True
        # An empty page with a cursor would walk forever; treat it as the end.
        return items, (nxt if items else None)

    async def window(self, start: int, stop: int, chunk: int) -> Window:
        cache, key = self._cache, self._key
        generation = cache.generation(key)
        index, token = cache.nearest(key, generation, chunk, start // chunk)
        offset = index * chunk
        aligned = True
        shown: list[Message] = []
        while True:
            items, nxt = await self._get(chunk, token)
            if token is None:
                generation = cache.generation(key)  # reading the head may have moved it
            end = offset + len(items)
            shown.extend(items[max(start - offset, 0) : stop - offset])
            if nxt is None:
                return Window(tuple(shown), more=end > stop, end_of_list=end)
            # A short page that is not the last breaks offset = index x chunk; the walk still
            # serves correct slices but files no more cursors.
            aligned = aligned and len(items) == chunk
            if aligned:
                index += 1
                cache.remember(key, generation, chunk, index, nxt)
            if end >= stop:
                return Window(tuple(shown), more=True if end > stop else None)
            offset, token = end, nxt

    async def count(self, limit: int | None) -> Total:
        """Count the list at the maximum page size, stopping once ``limit`` messages are known
        to exist. Resumes from the furthest cursor when this request has just checked that
        the list's head did not move (so the remembered chain still describes the list)."""
        cache, key, chunk = self._cache, self._key, MAX_UPSTREAM_PAGE
        generation = cache.generation(key)
        index, token = cache.furthest(key, generation, chunk) if self.head_checked else (0, None)
        offset = index * chunk
        aligned = True
        while True:
            if limit is not None and offset >= limit:
                return Total(limit, exact=False)
            items, nxt = await self._get(chunk, token)
            if token is None:
                generation = cache.generation(key)
            offset += len(items)
            if nxt is None:
                return Total(offset, exact=True)
            aligned = aligned and len(items) == chunk
            if aligned:
                index += 1
                cache.remember(key, generation, chunk, index, nxt)
            token = nxt


# --- the translator -------------------------------------------------------------------------


class Paginator:
    """Serves legacy page N of size S for an account's filtered list (see module docs)."""

    def __init__(self, settings: Settings, *, clock: Clock = time.monotonic) -> None:
        if not 0 <= settings.upstream_page_size <= MAX_UPSTREAM_PAGE:
            raise ConfigError(
                "setting 'upstream_page_size' (GATEWAY_UPSTREAM_PAGE_SIZE): "
                f"{settings.upstream_page_size} is not within 0..{MAX_UPSTREAM_PAGE}"
            )
        if settings.total_bound < 1 or settings.cursor_cache_size < 1:
            raise ConfigError("settings 'total_bound' and 'cursor_cache_size' must be >= 1")
        self._mode = settings.total_mode
        self._bound = settings.total_bound
        self._chunk = settings.upstream_page_size
        self.cache = CursorCache(
            settings.cursor_cache_size, settings.cursor_ttl, settings.total_ttl, clock
        )
        # One lock per list in use; an entry disappears when no request holds its lock, so
        # this stays as small as the number of lists being served at this moment.
        self._locks: weakref.WeakValueDictionary[ListKey, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _lock(self, key: ListKey) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _read_size(self, query: ListQuery, total: Total | None) -> int:
        """The upstream PageSize for this page's walk. Page 0, by far the most requested (every
        poller), is read at the legacy page size when no total walk follows: one request for
        exactly the messages shown, instead of a chunk to slice 50 out of. Otherwise the chunk
        size: deeper pages keep the bounded cost of chunk cursors, and a cold total walk
        resumes from the chunk cursors the page's walk files."""
        size = query.page_size
        if not self._chunk or query.page != 0:
            return self._chunk or size
        if self._mode != "off" and total is None:
            return self._chunk
        return size

    def _is_warm(self, key: ListKey, generation: int, start: int, stop: int, size: int) -> bool:
        """Whether this page is one upstream read from a known position (the head, or a
        remembered cursor) and needs no count. Such a walk cannot duplicate another's work, so
        it needs no lock: concurrent pollers of one list are not served one at a time."""
        index = start // size
        if stop > (index + 1) * size:
            return False
        return index == 0 or self.cache.has_cursor(key, generation, size, index)

    async def page(self, account_sid: str, query: ListQuery, fetch: FetchPage) -> Page:
        if query.page < 0 or not 1 <= query.page_size <= MAX_UPSTREAM_PAGE:
            # The dialects validate first; this keeps a bad query from reaching upstream.
            raise errors.bad_request(
                f"Invalid page {query.page} or page size {query.page_size}"
            )
        key: ListKey = (account_sid, query.filter.cache_key())
        start, stop = page_bounds(query.page, query.page_size)
        generation = self.cache.generation(key)
        known = self.cache.total(key, generation) if self._mode != "off" else None
        size = self._read_size(query, known)
        if (known is not None or self._mode == "off") and self._is_warm(
            key, generation, start, stop, size
        ):
            walk = _Walk(self.cache, key, query.filter, fetch)
            window = await walk.window(start, stop, size)
            return await self._finish(key, query, window, walk)
        async with self._lock(key):
            walk = _Walk(self.cache, key, query.filter, fetch)
            window = await walk.window(start, stop, size)
            return await self._finish(key, query, window, walk, locked=True)

    async def _finish(
        self, key: ListKey, query: ListQuery, window: Window, walk: _Walk, *, locked: bool = False
    ) -> Page:
        """The page from its window: the total from the walk, the cache, or a count (under the
        list's lock: a warm walk that finds its total gone since it started takes it now)."""
        if window.end_of_list is not None:
            self.cache.set_total(
                key, self.cache.generation(key), Total(window.end_of_list, exact=True)
            )
        total: Total | None = None
        if self._mode != "off":
            total = self.cache.total(key, self.cache.generation(key))
            if total is None and locked:
                total = await self._count(key, walk)
            elif total is None:
                async with self._lock(key):
                    # Another request may have counted while this one waited.
                    total = self.cache.total(key, self.cache.generation(key))
                    if total is None:
                        total = await self._count(key, walk)
        return compose_page(query, window, total, walk.requests)

    async def _count(self, key: ListKey, walk: _Walk) -> Total:
        total = await walk.count(self._bound if self._mode == "bounded" else None)
        self.cache.set_total(key, self.cache.generation(key), total)
        return total
