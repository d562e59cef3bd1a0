"""Counting in segments (gateway/paging_segments.py): a long list counted by several walks at
once, exact whatever the dates say, and every page still one read from a checkpoint."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.config import Settings
from gateway.model import ApiError, ListFilter, ListQuery, Message
from gateway.paging import Paginator
from gateway.paging_estimate import day_start, oldest_day
from gateway.paging_walk import PagingCollector
from gateway.state.memory import MemoryStore
from gateway.state.redis import RedisStore
from gateway.upstream.deadline import request_deadline
from tests.paging.conftest import ACCOUNT_A, FakeUpstream, make_message
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # a fixture, used by name

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def plan_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    # These lists take a second or two to count here: plan their segments at once.
    monkeypatch.setattr("gateway.paging_segments.PLAN_DELAY", 0.02)


def settings(**changes: object) -> Settings:
    return replace(Settings(), **changes)  # type: ignore[arg-type]


def spread(n: int, days: float, *, unsent_every: int = 0, dense_tail: float = 0.0) -> list[Message]:
    """``n`` messages over ``days`` days, newest first; every ``unsent_every``-th never sent
    (no date_sent: it stands where it was created). With ``dense_tail`` that share of the
    messages falls in the oldest tenth of the time."""
    out = []
    for i in range(n):
        share = i / n
        if dense_tail and share < dense_tail:
            at = share / dense_tail * 0.1
        elif dense_tail:
            at = 0.1 + (share - dense_tail) / (1 - dense_tail) * 0.9
        else:
            at = share
        created = EPOCH + timedelta(seconds=at * days * 86400)
        m = replace(make_message(i), date_created=created, date_sent=created)
        if unsent_every and i % unsent_every == 0:
            m = replace(m, date_sent=None, status="failed")
        out.append(m)
    return sorted(out, key=lambda m: m.date_sent or m.date_created or EPOCH, reverse=True)


class SlowUpstream(FakeUpstream):
    """Every read of more than one message takes ``delay``; tracks the most reads at once."""

    def __init__(self, messages: list[Message], delay: float) -> None:
        super().__init__(messages=messages)
        self.delay = delay
        self.inflight = self.most = 0

    async def fetch(
        self, flt: ListFilter, page_size: int, token: str | None
    ) -> tuple[Sequence[Message], str | None]:
        self.inflight += 1
        self.most = max(self.most, self.inflight)
        try:
            await asyncio.sleep(self.delay if page_size > 1 else self.delay / 4)
            return await super().fetch(flt, page_size, token)
        finally:
            self.inflight -= 1


async def count_out(paginator: Paginator, up: FakeUpstream, flt: ListFilter | None = None) -> None:
    await paginator.page(ACCOUNT_A, ListQuery(flt or ListFilter(), 0, 50), up.fetch)
    for _ in range(3000):
        if not paginator.counter.busy:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the count did not finish")


async def check_pages(paginator: Paginator, up: FakeUpstream, flt: ListFilter, total: int) -> None:
    rows = up.listing(flt)
    rng = random.Random(7)
    last = max(total - 1, 0) // 50
    for number in sorted({0, 1, last // 2, last, *rng.sample(range(last + 1), min(12, last + 1))}):
        page = await paginator.page(ACCOUNT_A, ListQuery(flt, number, 50), up.fetch)
        assert [m.sid for m in page.messages] == [m.sid for m in rows[number * 50 : number * 50 + 50]]
        assert (page.total, page.total_is_exact) == (total, True)
        # The head probe and one read from the nearest checkpoint (at most 949 back).
        assert page.upstream_requests <= 2, number


class Rounds:
    """Days probed for the oldest day, and in how many rounds (probes made at once share one)."""

    def __init__(self, first: date) -> None:
        self.first = first
        self.rounds: set[int] = set()
        self.began = 0.0

    async def exists(self, day: date) -> bool:
        loop = asyncio.get_running_loop()
        self.began = self.began or loop.time()
        self.rounds.add(int((loop.time() - self.began) / 0.05))
        await asyncio.sleep(0.05)
        return day >= self.first


@pytest.mark.parametrize("fan", [1, 3, 7])
async def test_the_oldest_day_search_fans_out_to_the_same_day(fan: int) -> None:
    for first in (date(2008, 1, 1), date(2013, 5, 17), date(2024, 2, 28), date(2024, 2, 29)):
        probe = Rounds(first)
        last = day_start(date(2024, 3, 1)) + 60
        assert await oldest_day(ListFilter(), last, probe.exists, fan) == first
        # ~6,000 days: 13 rounds one at a time, fewer when several days are probed at once.
        assert len(probe.rounds) <= {1: 14, 3: 8, 7: 6}[fan]


async def test_segments_count_a_long_list_exactly_and_at_once() -> None:
    up = SlowUpstream(spread(30_000, 30, unsent_every=7), 0.02)
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=8))
    await count_out(paginator, up)
    assert up.most >= 6  # segments read beside the count
    assert paginator.stats.segments["started"] >= 7 and "dropped" not in paginator.stats.segments
    reads = paginator.stats.reads
    # One pass over the list, plus each walk's last read running past its segment's end.
    assert reads["count"] <= 30_000 // 949 + 1 + 8
    assert reads["probe"] <= 7 * 3 + 7 + 4  # the oldest day, the cut, a few splits
    await check_pages(paginator, up, ListFilter(), 30_000)
    await paginator.close()


async def test_segments_are_as_fast_as_their_number() -> None:
    async def timed(parallel: int) -> float:
        up = SlowUpstream(spread(40_000, 30), 0.04)
        paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=parallel))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await count_out(paginator, up)
        await paginator.close()
        return loop.time() - started

    one, eight = await timed(1), await timed(8)
    assert eight < one / 2.5, (one, eight)


async def test_an_uneven_account_keeps_every_walk_busy() -> None:
    # Most messages in the oldest days: the first cut leaves one long segment, which the
    # walks that finish early split again.
    up = SlowUpstream(spread(30_000, 60, dense_tail=0.8), 0.01)
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=6))
    await count_out(paginator, up)
    assert paginator.stats.reads["probe"] > 5 + 5  # the oldest-day search, the cut, splits
    await check_pages(paginator, up, ListFilter(), 30_000)
    await paginator.close()


async def test_a_filtered_list_is_cut_on_its_own_messages() -> None:
    messages = spread(20_000, 30)
    messages = [replace(m, to="+14155550111") if i % 3 else m for i, m in enumerate(messages)]
    up = SlowUpstream(messages, 0.01)
    flt = ListFilter(to="+14155550111")
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=8))
    await count_out(paginator, up, flt)
    total = len(up.listing(flt))
    assert up.most >= 4
    await check_pages(paginator, up, flt, total)
    await paginator.close()


async def test_a_list_out_of_date_order_is_still_counted_exactly(caplog: pytest.LogCaptureFixture) -> None:
    # Positions that do not follow the dates: the segments start where the dates say, the
    # walks find their ends missing, the segments are dropped and the count goes on alone.
    messages = spread(20_000, 30)
    rng = random.Random(3)
    dates = [m.date_sent for m in messages]
    rng.shuffle(dates)
    up = SlowUpstream([replace(m, date_sent=d) for m, d in zip(messages, dates, strict=True)], 0.01)
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=8))
    with caplog.at_level(logging.INFO, logger="gateway.paging_segments"):
        await count_out(paginator, up)
    assert any("segments dropped" in r.getMessage() for r in caplog.records)
    # Operators see it too.
    family = next(
        m for m in PagingCollector(paginator.stats, "sms_gateway").collect()
        if m.name == "sms_gateway_paging_segments"
    )
    events = {sample.labels["event"]: sample.value for sample in family.samples}
    assert events["dropped"] >= 1 and events["started"] >= 1
    await check_pages(paginator, up, ListFilter(), 20_000)
    await paginator.close()


async def test_arrivals_during_a_segmented_count_are_counted_once() -> None:
    up = SlowUpstream(spread(20_000, 30), 0.01)
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=8))
    await paginator.page(ACCOUNT_A, ListQuery(ListFilter(), 0, 50), up.fetch)
    newest = up.messages[0].date_sent
    assert newest is not None
    for k in range(5):
        await asyncio.sleep(0.1)
        up.add(*(replace(make_message(100_000 + k * 10 + j), date_sent=newest + timedelta(minutes=k + 1)) for j in range(10)))
        await paginator.page(ACCOUNT_A, ListQuery(ListFilter(), 0, 50), up.fetch)
    await count_out(paginator, up)
    await check_pages(paginator, up, ListFilter(), 20_050)
    await paginator.close()


async def test_a_count_resumed_elsewhere_plans_its_segments_again() -> None:
    up = SlowUpstream(spread(30_000, 30), 0.01)
    store = MemoryStore()
    a = Paginator(settings(paging_wait=0.0, paging_count_parallel=8), store=store)
    await a.page(ACCOUNT_A, ListQuery(ListFilter(), 0, 50), up.fetch)
    await asyncio.sleep(0.8)
    await a.close()  # the process dies mid-count: its segments' progress is gone
    b = Paginator(settings(paging_wait=0.0, paging_count_parallel=8), store=store)
    await count_out(b, up)
    await check_pages(b, up, ListFilter(), 30_000)
    await b.close()


async def test_messages_never_sent_at_the_tail_are_counted() -> None:
    # The oldest sent message has nothing sent after it, only messages never sent (created
    # before it): a probe that lands on it hands out no cursor and must not end the list.
    recent = [replace(m, sid=f"SM{i + 50_000:032x}") for i, m in enumerate(spread(12_000, 10))]
    recent = [replace(m, date_sent=m.date_sent + timedelta(days=20)) for m in recent]  # type: ignore[operator]
    lone = replace(make_message(90_000), date_sent=EPOCH, date_created=EPOCH)
    unsent = [
        replace(make_message(i), date_sent=None, status="failed", date_created=EPOCH - timedelta(seconds=3000 - i))
        for i in range(3000)
    ]
    messages = sorted(
        [*recent, lone, *unsent], key=lambda m: m.date_sent or m.date_created or EPOCH, reverse=True
    )
    up = SlowUpstream(messages, 0.01)
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=8))
    await count_out(paginator, up)
    assert paginator.stats.reads["probe"] > 0
    await check_pages(paginator, up, ListFilter(), 15_001)
    await paginator.close()


class RefusingUpstream(SlowUpstream):
    """Refuses (429) the first ``refusals`` reads from each cursor a probe handed out: the
    first reads of every segment."""

    def __init__(self, messages: list[Message], delay: float, refusals: int) -> None:
        super().__init__(messages, delay)
        self.refusals = refusals
        self.refused: dict[str, int] = {}
        self.starts: set[str] = set()

    async def fetch(
        self, flt: ListFilter, page_size: int, token: str | None
    ) -> tuple[Sequence[Message], str | None]:
        if token in self.starts and self.refused.get(token, 0) < self.refusals:
            self.refused[token] = self.refused.get(token, 0) + 1
            raise ApiError(429, "Too Many Requests", 20429)
        items, nxt = await super().fetch(flt, page_size, token)
        if page_size == 1 and nxt is not None:
            self.starts.add(nxt)
        return items, nxt


@pytest.mark.parametrize("refusals", [1, 5])
async def test_a_segment_whose_reads_fail_is_taken_over(
    refusals: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Once: the segment tries again. Five times: it stops after its fourth try, and the walk
    # from the head reads its part when it gets there (tried again once itself). Either way
    # the other segments go on, and the count is exact.
    monkeypatch.setattr("gateway.paging_segments.RETRY_PAUSE", 0.02)
    up = RefusingUpstream(spread(20_000, 30), 0.03, refusals)
    paginator = Paginator(settings(paging_wait=0.0, paging_count_parallel=8))
    with caplog.at_level(logging.INFO, logger="gateway.paging_segments"):
        for _ in range(5):
            await count_out(paginator, up)
            # A read refused more often than the count tries stops it; the next request
            # resumes it from its saved progress.
            page = await paginator.page(ACCOUNT_A, ListQuery(ListFilter(), 0, 50), up.fetch)
            if page.total_is_exact:
                break
    assert up.refused and up.most >= 4
    assert not any("segments dropped" in r.getMessage() for r in caplog.records)
    stopped = any("a segment stops" in r.getMessage() for r in caplog.records)
    assert stopped == (refusals > 3) == ("stopped" in paginator.stats.segments)
    await check_pages(paginator, up, ListFilter(), 20_000)
    await paginator.close()


async def test_replicas_share_a_segmented_count_through_redis(redis_server: RedisServer) -> None:
    # One replica counts in segments; the other, on the same Redis, waits for it, never
    # counts itself, and serves every page from the checkpoints the segments filed.
    up = SlowUpstream(spread(30_000, 30, unsent_every=11), 0.02)
    prefix = f"segments-{uuid.uuid4().hex}:"
    stores = [RedisStore(redis_server.url, prefix=prefix, timeout=2.0) for _ in range(2)]
    a, b = (
        Paginator(settings(paging_wait=0.0, paging_count_parallel=8), store=store)
        for store in stores
    )
    try:
        await a.page(ACCOUNT_A, ListQuery(ListFilter(), 0, 50), up.fetch)
        with request_deadline(10.0):
            deep = await b.page(ACCOUNT_A, ListQuery(ListFilter(), 400, 50), up.fetch)
        assert [m.sid for m in deep.messages] == [m.sid for m in up.messages[20_000:20_050]]
        await count_out(a, up)
        assert up.most >= 6 and "count" not in b.stats.reads
        await check_pages(b, up, ListFilter(), 30_000)
    finally:
        await a.close()
        await b.close()
        for store in stores:
            await store.close()
