"""What the gateway remembers about a legacy list between requests: upstream cursors by
position, the list's total, and the generation that ties both to one state of the list.

A *list* is one account's messages under one filter. Every key starts with the account sid, so
one account's cursors and totals are never served to another. Everything here is bounded
(``cachetools.TTLCache``, LRU eviction when full) and expires; losing an entry only costs
upstream requests, never correctness.

Generations: upstream cursors mark a position *after a given message*, so they stay valid when
new messages arrive at the head of the list, but the offsets we filed them under do not. Each
time a walk reads the list's head it reports the first sid; when that changed, the list moved,
and the list gets a fresh generation. Cursors and totals are keyed by generation, so the stale
ones simply stop being found and age out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from cachetools import TTLCache

# (account sid, ListFilter.cache_key())
ListKey = tuple[str, tuple[str, ...]]
Clock = Callable[[], float]

# Sentinel for "this generation has not seen the list's head yet" (None means: list empty).
_UNSEEN = ""


@dataclass(frozen=True, slots=True)
class Total:
    """A list's size: exact, or a lower bound when a bounded count stopped early."""

    count: int
    exact: bool


@dataclass(slots=True)
class _ListState:
    generation: int
    head_sid: str | None = _UNSEEN
    # chunk size -> highest chunk index remembered, so a count can resume from the far end.
    reach: dict[int, int] = field(default_factory=dict)


class CursorCache:
    """Cursors, totals and generations for many lists, all bounded by ``size`` entries each."""

    def __init__(self, size: int, cursor_ttl: float, total_ttl: float, clock: Clock) -> None:
        self._cursors: TTLCache[tuple[ListKey, int, int, int], str] = TTLCache(
            maxsize=size, ttl=cursor_ttl, timer=clock
        )
        self._states: TTLCache[ListKey, _ListState] = TTLCache(
            maxsize=size, ttl=cursor_ttl, timer=clock
        )
        self._totals: TTLCache[tuple[ListKey, int], Total] = TTLCache(
            maxsize=size, ttl=total_ttl, timer=clock
        )
        # Global, so a list whose state was evicted never reuses an old generation's cursors.
        self._generations = itertools.count(1)
        # Lookups that found / did not find an entry, for the cache metrics. A cursor lookup
        # for the list's head needs no cache and is not counted.
        self.cursor_hits = self.cursor_misses = 0
        self.total_hits = self.total_misses = 0

    def _state(self, key: ListKey) -> _ListState:
        state = self._states.get(key)
        if state is None:
            state = _ListState(next(self._generations))
        self._states[key] = state  # re-inserting restarts its TTL while the list is in use
        return state

    def generation(self, key: ListKey) -> int:
        return self._state(key).generation

    def observe_head(self, key: ListKey, head_sid: str | None) -> None:
        """Record the list's first sid as just read from upstream; start a new generation if it
        differs from the one this generation was built on."""
        state = self._state(key)
        if state.head_sid == _UNSEEN:
            state.head_sid = head_sid
        elif state.head_sid != head_sid:
            self._states[key] = _ListState(next(self._generations), head_sid)

    def remember(self, key: ListKey, generation: int, chunk: int, index: int, token: str) -> None:
        """``token`` fetches the upstream page of size ``chunk`` that starts at offset
        ``index * chunk``."""
        self._cursors[(key, generation, chunk, index)] = token
        state = self._state(key)
        if state.generation == generation and index > state.reach.get(chunk, 0):
            state.reach[chunk] = index

    def nearest(
        self, key: ListKey, generation: int, chunk: int, index: int
    ) -> tuple[int, str | None]:
        """The remembered cursor at or before chunk ``index``: (its index, token), or (0, None)
        for the head of the list."""
        state = self._state(key)
        top = min(index, state.reach.get(chunk, 0)) if state.generation == generation else 0
        for i in range(top, 0, -1):
            token = self._cursors.get((key, generation, chunk, i))
            if token is not None:
                self.cursor_hits += 1
                return i, token
        if index > 0:
            self.cursor_misses += 1
        return 0, None

    def has_cursor(self, key: ListKey, generation: int, chunk: int, index: int) -> bool:
        """Whether chunk ``index``'s cursor is remembered (not counted as a lookup)."""
        return (key, generation, chunk, index) in self._cursors

    def furthest(self, key: ListKey, generation: int, chunk: int) -> tuple[int, str | None]:
        """The remembered cursor furthest along the list (or the head)."""
        state = self._state(key)
        return self.nearest(key, generation, chunk, state.reach.get(chunk, 0))

    def total(self, key: ListKey, generation: int) -> Total | None:
        total = self._totals.get((key, generation))
        if total is None:
            self.total_misses += 1
        else:
            self.total_hits += 1
        return total

    def set_total(self, key: ListKey, generation: int, total: Total) -> None:
        known = self._totals.get((key, generation))
        if known is not None and known.exact and not total.exact:
            return  # never trade an exact count for a bound
        self._totals[(key, generation)] = total

    @property
    def cursor_count(self) -> int:
        return len(self._cursors)

    @property
    def total_count(self) -> int:
        return len(self._totals)

    @property
    def cursor_capacity(self) -> int:
        return int(self._cursors.maxsize)
