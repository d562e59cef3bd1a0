"""Walk safety for the paging index: each upstream read of a list goes through a guard that
caps the reads of one legacy request, holds every account to a number of list reads per second
(per process), and cuts a cursor chain that repeats, goes back or stops making progress.
Counters for the metrics live here too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway import errors
from gateway.model import ApiError, ListFilter, Message
from gateway.state.base import StateStore
from gateway.upstream import deadline

# fetch(filter, page_size, page_token) -> (messages, next page token or None)
FetchPage = Callable[[ListFilter, int, str | None], Awaitable[tuple[Sequence[Message], str | None]]]
WallClock = Callable[[], float]


class WalkCut(Exception):
    """A cursor chain that loops, goes backwards or stops making progress; or a walk over its
    request cap. ``reason`` is a metric label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def api_error(self) -> ApiError:
        return ApiError(
            502,
            f"Upstream's list paging does not progress ({self.reason}); the walk was stopped",
            errors.UPSTREAM_BAD_RESPONSE,
        )


@dataclass(slots=True)
class PagingStats:
    """Process-wide counts, read at scrape time."""

    reads: dict[str, int] = field(default_factory=dict)  # page / head / count
    cuts: dict[str, int] = field(default_factory=dict)  # loop / backwards / cap / ...
    answers: dict[str, int] = field(default_factory=dict)  # exact / provisional / none / wait
    segments: dict[str, int] = field(default_factory=dict)  # started / dropped / stopped
    rate_waits: int = 0
    store_fallbacks: int = 0

    def bump(self, table: dict[str, int], label: str, n: int = 1) -> None:
        table[label] = table.get(label, 0) + n


class PagingCollector(Collector):
    def __init__(self, stats: PagingStats, prefix: str) -> None:
        self._stats = stats
        self._prefix = prefix

    def collect(self) -> Iterable[Metric]:
        s, p = self._stats, self._prefix
        reads = CounterMetricFamily(
            f"{p}_paging_upstream_reads", "Upstream list reads of the paging index, by purpose.",
            labels=["purpose"],
        )
        for label, n in s.reads.items():
            reads.add_metric([label], n)
        cuts = CounterMetricFamily(
            f"{p}_paging_walk_cuts", "Cursor walks cut off, by reason.", labels=["reason"]
        )
        for label, n in s.cuts.items():
            cuts.add_metric([label], n)
        answers = CounterMetricFamily(
            f"{p}_paging_answers", "Legacy pages by what their total was.", labels=["total"]
        )
        for label, n in s.answers.items():
            answers.add_metric([label], n)
        segments = CounterMetricFamily(
            f"{p}_paging_segments",
            "Segments of background counts: started (planned or split), dropped (a list out of "
            "date order: the count went on alone), stopped (reads kept failing).",
            labels=["event"],
        )
        for label, n in s.segments.items():
            segments.add_metric([label], n)
        waits = CounterMetricFamily(
            f"{p}_paging_rate_waits", "List reads held back by the per-account rate cap."
        )
        waits.add_metric([], s.rate_waits)
        fallbacks = CounterMetricFamily(
            f"{p}_paging_store_fallbacks",
            "Pages served from process-local paging state because the state store failed.",
        )
        fallbacks.add_metric([], s.store_fallbacks)
        return [reads, cuts, answers, segments, waits, fallbacks]


class AccountRate:
    """At most ``per_second`` list reads per account per wall-clock second in this process
    (counted in a process-local store: a shared counter would cost a store round trip per
    upstream read)."""

    def __init__(
        self, store: StateStore, per_second: int, stats: PagingStats, wall: WallClock = time.time,
    ) -> None:
        self._store = store
        self._cap = per_second
        self._stats = stats
        self._wall = wall

    async def acquire(self, account: str) -> None:
        while True:
            now = self._wall()
            second = int(now)
            key = f"pg:rate:{account}:{second}"
            used = await self._store.incr(key, 1, 2.0)
            if used <= self._cap:
                return
            self._stats.rate_waits += 1
            wait = second + 1 - now
            left = deadline.remaining()
            if left is not None and left < wait + 0.5:
                raise ApiError(
                    503,
                    "Too many list reads for this account right now; retry in a second",
                    errors.UPSTREAM_UNAVAILABLE,
                    headers={"Retry-After": "1"},
                )
            await asyncio.sleep(wait)


class GuardedFetch:
    """One walk's reads: counted, capped, rate-limited, and checked for a chain that repeats a
    cursor or a message (a loop, or a chain going back) or hands out a cursor with no data."""

    def __init__(
        self, fetch: FetchPage, flt: ListFilter, account: str, rate: AccountRate,
        stats: PagingStats, purpose: str, cap: int | None,
    ) -> None:
        self._fetch = fetch
        self._filter = flt
        self._account = account
        self._rate = rate
        self._stats = stats
        self.purpose = purpose
        self.cap = cap
        self.requests = 0
        self._tokens: set[str] = set()
        self._edges: set[str] = set()  # first and last sids of every page read

    def _cut(self, reason: str) -> WalkCut:
        self._stats.bump(self._stats.cuts, reason)
        return WalkCut(reason)

    async def __call__(
        self, size: int, token: str | None, purpose: str | None = None
    ) -> tuple[Sequence[Message], str | None]:
        if self.cap is not None and self.requests >= self.cap:
            raise self._cut("request_cap")
        if token is not None:
            if token in self._tokens:
                raise self._cut("repeated_cursor")
            self._tokens.add(token)
        await self._rate.acquire(self._account)
        items, nxt = await self._fetch(self._filter, size, token)
        self.requests += 1
        self._stats.bump(self._stats.reads, purpose or self.purpose)
        if items:
            edges = {items[0].sid, items[-1].sid}
            if token is not None and edges & self._edges:
                raise self._cut("repeated_messages")
            self._edges |= edges
        elif nxt is not None:
            nxt = None  # a cursor to nothing would walk forever: that is the end
        return items, nxt
