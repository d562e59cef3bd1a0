"""The paging translator against an in-memory upstream: slicing, checkpoint reuse,
re-verification, isolation, bounds, total modes and pages beyond the end.

Since issue 18 the count runs in the background (the page's ``upstream_requests`` are its own
reads; the count's show in ``paginator.stats.reads["count"]``) and every page first reads the
list's head, so a deep page costs two reads where it cost one."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest

from gateway.config import ConfigError, Settings
from gateway.config.checks import check
from gateway.model import ApiError, ListFilter, ListQuery, Message
from gateway.paging import Paginator
from tests.paging.conftest import ACCOUNT_A, ACCOUNT_B, FakeClock, FakeUpstream, make_message


def settings(**changes: object) -> Settings:
    # The per-account read cap is tested on its own; these walks read thousands of pages.
    changes.setdefault("paging_account_rps", 1_000_000)
    return dataclasses.replace(Settings(), **changes)  # type: ignore[arg-type]


def fill(upstream: FakeUpstream, n: int, **kw: object) -> None:
    upstream.add(*(make_message(i, **kw) for i in range(n)))  # type: ignore[arg-type]


async def read_all(
    paginator: Paginator, upstream: FakeUpstream, size: int, flt: ListFilter | None = None
) -> list[Message]:
    flt = flt or ListFilter()
    out: list[Message] = []
    page = 0
    while True:
        got = await paginator.page(ACCOUNT_A, ListQuery(flt, page, size), upstream.fetch)
        out.extend(got.messages)
        if not got.has_next:
            return out
        page += 1


async def test_seed_example_69_messages_in_pages_of_50(upstream: FakeUpstream) -> None:
    # The 2008 docs' example: page="0" numpages="2" pagesize="50" total="69" start="0" end="49".
    fill(upstream, 69)
    paginator = Paginator(settings())
    first = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert (first.page, first.num_pages, first.page_size, first.total, first.start, first.end) == (
        0, 2, 50, 69, 0, 49,
    )
    assert first.has_next and first.total_is_exact
    assert [m.sid for m in first.messages] == [m.sid for m in upstream.messages[:50]]
    second = await paginator.page(ACCOUNT_A, ListQuery(page=1, page_size=50), upstream.fetch)
    assert (second.start, second.end, second.total, second.num_pages) == (50, 68, 69, 2)
    assert not second.has_next
    assert [m.sid for m in second.messages] == [m.sid for m in upstream.messages[50:]]


@pytest.mark.parametrize("chunk", [1000, 0, 64, 7])
@pytest.mark.parametrize("size", [1, 7, 50, 333, 1000])
async def test_slicing_concatenates_to_the_whole_list(chunk: int, size: int) -> None:
    upstream = FakeUpstream()
    fill(upstream, 1234)
    paginator = Paginator(settings(upstream_page_size=chunk))
    got = await read_all(paginator, upstream, size)
    assert [m.sid for m in got] == [m.sid for m in upstream.messages]
    # Jumping straight to each page gives the same pages, totals exact on every one.
    pages = -(-1234 // size)
    for n in sorted({0, 1, pages // 2, pages - 1, pages}):
        page = await paginator.page(ACCOUNT_A, ListQuery(page=n, page_size=size), upstream.fetch)
        assert [m.sid for m in page.messages] == [
            m.sid for m in upstream.messages[n * size : (n + 1) * size]
        ]
        assert (page.total, page.num_pages, page.has_next) == (1234, pages, n < pages - 1)


async def test_checkpoints_make_any_page_two_reads(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    paginator = Paginator(settings())
    cold = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    # The page reads chunk 0 from the head; the background count continues from its cursor
    # in reads of 949 (so that checkpoints are at most 949 apart): one pass over the list.
    assert cold.upstream_requests == 1 and len(upstream.calls) == 6
    assert paginator.stats.reads == {"head": 1, "count": 5}
    assert [size for size, _ in upstream.calls] == [1000] + [949] * 5
    assert (cold.total, cold.total_is_exact) == (5000, True)
    upstream.calls.clear()
    last = await paginator.page(ACCOUNT_A, ListQuery(page=99, page_size=50), upstream.fetch)
    # The head (nothing arrived), then one read from the checkpoint at 4796, up to the page.
    assert last.upstream_requests == 2
    assert upstream.calls == [(50, None), (204, f"after:{upstream.messages[4795].sid}")]
    assert [m.sid for m in last.messages] == [m.sid for m in upstream.messages[4950:]]
    # Another legacy page size reuses the same checkpoints: a page of 1000 from the one at
    # 1949 is two reads (the goal: at most three requests for num=1000).
    upstream.calls.clear()
    mid = await paginator.page(ACCOUNT_A, ListQuery(page=2, page_size=1000), upstream.fetch)
    assert mid.upstream_requests == 3 and mid.start == 2000
    assert [m.sid for m in mid.messages] == [m.sid for m in upstream.messages[2000:3000]]


async def test_off_mode_walks_only_as_far_as_needed(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    paginator = Paginator(settings(total_mode="off"))
    page = await paginator.page(ACCOUNT_A, ListQuery(page=41, page_size=50), upstream.fetch)
    assert page.upstream_requests == 3  # chunks 0, 1, then up to offset 2100
    assert page.total is None and page.num_pages is None and page.has_next
    assert [m.sid for m in page.messages] == [m.sid for m in upstream.messages[2050:2100]]
    again = await paginator.page(ACCOUNT_A, ListQuery(page=42, page_size=50), upstream.fetch)
    assert again.upstream_requests == 2  # the head, then from the checkpoint the walk filed
    assert "count" not in paginator.stats.reads  # nothing counted in 'off' mode


async def test_direct_mode_reads_pages_at_the_legacy_page_size(upstream: FakeUpstream) -> None:
    fill(upstream, 300)
    paginator = Paginator(settings(upstream_page_size=0, total_mode="off"))
    page = await paginator.page(ACCOUNT_A, ListQuery(page=3, page_size=50), upstream.fetch)
    # The head at the page size, then one read up to the page's end (one more to see if more
    # follow): reaching a page costs reads of up to 1000 whatever the chunk.
    assert upstream.calls == [(50, None), (151, f"after:{upstream.messages[49].sid}")]
    assert [m.sid for m in page.messages] == [m.sid for m in upstream.messages[150:200]]
    upstream.calls.clear()
    await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert upstream.calls == [(50, None)]  # page 0 at the legacy page size itself


async def test_counts_are_reverified_after_total_ttl(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    wall = FakeClock()
    paginator = Paginator(settings(total_ttl=3600.0), wall=wall)
    first = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert first.total == 5000
    # A message deleted inside the list is not seen by the head...
    del upstream.messages[2500]
    stale = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert stale.total == 5000 and stale.upstream_requests == 1
    # ...until the count is older than total_ttl: a background recount, promoted when done.
    wall.now += 3601
    await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    for _ in range(100):
        if not paginator.counter.busy:
            break
        await asyncio.sleep(0.01)
    fresh = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert (fresh.total, fresh.total_is_exact) == (4999, True)
    deep = await paginator.page(ACCOUNT_A, ListQuery(page=60, page_size=50), upstream.fetch)
    assert [m.sid for m in deep.messages] == [m.sid for m in upstream.messages[3000:3050]]


async def test_a_purge_at_the_tail_corrects_the_total(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    paginator = Paginator(settings())
    await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    del upstream.messages[4900:]  # retention purges the oldest
    last = await paginator.page(ACCOUNT_A, ListQuery(page=97, page_size=50), upstream.fetch)
    assert (len(last.messages), last.total, last.has_next) == (50, 4900, False)
    again = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert again.total == 4900


async def test_accounts_never_share_cursors_or_totals() -> None:
    a, b = FakeUpstream(), FakeUpstream()
    fill(a, 3000, account=ACCOUNT_A)
    fill(b, 10, account=ACCOUNT_B)
    paginator = Paginator(settings())
    pa = await paginator.page(ACCOUNT_A, ListQuery(page=2, page_size=1000), a.fetch)
    assert pa.total == 3000
    pb = await paginator.page(ACCOUNT_B, ListQuery(page=2, page_size=1000), b.fetch)
    # B walked its own list from its head: no cursor of A's was offered to B's upstream.
    assert b.calls == [(1000, None)]
    assert (pb.total, pb.messages, pb.has_next) == (10, (), False)
    pb0 = await paginator.page(ACCOUNT_B, ListQuery(page=0, page_size=50), b.fetch)
    assert pb0.total == 10 and all(m.account_sid == ACCOUNT_B for m in pb0.messages)
    assert all(token is None or token.startswith("after:") for _, token in b.calls)
    b_sids = {m.sid for m in b.messages}
    assert all(token is None or token.removeprefix("after:") in b_sids for _, token in b.calls)


async def test_filters_have_their_own_cursors(upstream: FakeUpstream) -> None:
    upstream.add(*(make_message(i, to="+14155550100" if i % 3 else "+14155550111") for i in range(3000)))
    paginator = Paginator(settings())
    everything = await read_all(paginator, upstream, 400)
    some = await read_all(paginator, upstream, 400, ListFilter(to="+14155550111"))
    assert [m.sid for m in everything] == [m.sid for m in upstream.messages]
    assert [m.sid for m in some] == [m.sid for m in upstream.listing(ListFilter(to="+14155550111"))]


async def test_a_tiny_local_index_costs_reads_never_wrong_pages() -> None:
    # A store far too small for the index (entries evicted all the time) still serves every
    # page exactly; it only costs more upstream reads.
    upstream = FakeUpstream()
    fill(upstream, 3000)
    paginator = Paginator(settings(cursor_cache_size=3))
    for n in (0, 59, 30, 1, 59):
        page = await paginator.page(ACCOUNT_A, ListQuery(page=n, page_size=50), upstream.fetch)
        assert [m.sid for m in page.messages] == [m.sid for m in upstream.messages[n * 50 : n * 50 + 50]]
        assert page.total is None or page.total >= 3000
    assert len(paginator.local) <= 3


async def test_bounded_mode_counts_at_most_the_bound(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    paginator = Paginator(settings(total_mode="bounded", total_bound=1500))
    first = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    # Chunk 0, then the count's next read reaches 1949 >= 1500 and stops. The total is
    # provisional and errs high (twice what was counted): never presented as exact.
    assert (first.total, first.num_pages, first.total_is_exact) == (3898, 78, False)
    assert len(upstream.calls) == 2
    # Past the bound every page still proves one more page while there is one, so
    # `page < numpages` loops keep going to the real end.
    deep = await paginator.page(ACCOUNT_A, ListQuery(page=90, page_size=50), upstream.fetch)
    assert (deep.total, deep.num_pages, deep.has_next, deep.total_is_exact) == (4551, 92, True, False)
    # The end of the list, once seen, is exact.
    last = await paginator.page(ACCOUNT_A, ListQuery(page=99, page_size=50), upstream.fetch)
    assert (last.total, last.num_pages, last.has_next, last.total_is_exact) == (5000, 100, False, True)
    got = await read_all(paginator, upstream, 50)
    assert [m.sid for m in got] == [m.sid for m in upstream.messages]


async def test_bounded_mode_can_report_the_bound_as_before(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    paginator = Paginator(settings(total_mode="bounded", total_bound=1500, paging_bound_as_total=True))
    first = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert (first.total, first.num_pages, first.total_is_exact) == (1949, 39, False)


async def test_bounded_mode_below_the_bound_is_exact(upstream: FakeUpstream) -> None:
    fill(upstream, 1200)
    paginator = Paginator(settings(total_mode="bounded", total_bound=5000))
    page = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert (page.total, page.num_pages, page.total_is_exact) == (1200, 24, True)


async def test_off_mode_reports_no_total(upstream: FakeUpstream) -> None:
    fill(upstream, 69)
    paginator = Paginator(settings(total_mode="off"))
    page = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert (page.total, page.num_pages, page.total_is_exact, page.has_next) == (None, None, False, True)
    assert page.upstream_requests == 1
    last = await paginator.page(ACCOUNT_A, ListQuery(page=1, page_size=50), upstream.fetch)
    assert (len(last.messages), last.has_next, last.end) == (19, False, 68)


@pytest.mark.parametrize("mode", ["exact", "bounded", "off"])
async def test_page_beyond_the_end_is_empty_with_attributes(upstream: FakeUpstream, mode: str) -> None:
    fill(upstream, 69)
    paginator = Paginator(settings(total_mode=mode))
    page = await paginator.page(ACCOUNT_A, ListQuery(page=10, page_size=50), upstream.fetch)
    assert page.messages == () and not page.has_next
    assert (page.page, page.start, page.end) == (10, 500, 500)
    if mode == "off":
        assert page.total is None
    else:
        assert (page.total, page.num_pages, page.total_is_exact) == (69, 2, True)


async def test_empty_list(upstream: FakeUpstream) -> None:
    paginator = Paginator(settings())
    page = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert (page.total, page.num_pages, page.start, page.end, page.has_next) == (0, 1, 0, 0, False)
    assert page.upstream_requests == 1


async def test_trailing_cursor_to_an_empty_page(upstream: FakeUpstream) -> None:
    # An upstream that hands out a cursor after a full last page: exact totals settle
    # has_next; without totals the next page is simply empty.
    upstream.trailing_cursor = True
    fill(upstream, 2000)
    exact = Paginator(settings())
    page = await exact.page(ACCOUNT_A, ListQuery(page=39, page_size=50), upstream.fetch)
    assert (page.total, page.num_pages, page.has_next) == (2000, 40, False)
    # Without totals, a page that ends where an upstream page with a cursor ends cannot tell:
    # 1000 messages, page 19 ends with the head read's 1000, and the next page is empty.
    del upstream.messages[1000:]
    off = Paginator(settings(total_mode="off"))
    page = await off.page(ACCOUNT_A, ListQuery(page=19, page_size=50), upstream.fetch)
    assert page.has_next
    after = await off.page(ACCOUNT_A, ListQuery(page=20, page_size=50), upstream.fetch)
    assert (after.messages, after.has_next) == ((), False)


async def test_concurrent_requests_count_once(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    real_fetch = upstream.fetch

    async def slow_fetch(
        flt: ListFilter, size: int, token: str | None
    ) -> tuple[Sequence[Message], str | None]:
        await asyncio.sleep(0.001)
        return await real_fetch(flt, size, token)

    paginator = Paginator(settings())
    pages = await asyncio.gather(
        *(
            paginator.page(ACCOUNT_A, ListQuery(page=99, page_size=50), slow_fetch)
            for _ in range(5)
        )
    )
    # Each request: its head read and one read from the checkpoint; the list is counted once.
    assert [p.upstream_requests for p in pages] == [2] * 5
    assert paginator.stats.reads["count"] == 5
    assert all([m.sid for m in p.messages] == [m.sid for m in upstream.messages[4950:]] for p in pages)
    assert all(p.total == 5000 for p in pages)


async def test_upstream_errors_propagate_and_leave_no_damage(upstream: FakeUpstream) -> None:
    fill(upstream, 3000)
    calls = 0
    real_fetch = upstream.fetch

    async def flaky(flt: ListFilter, size: int, token: str | None) -> tuple[Sequence[Message], str | None]:
        nonlocal calls
        calls += 1
        if calls in (1, 3):
            raise ApiError(503, "upstream down", 20503)
        return await real_fetch(flt, size, token)

    paginator = Paginator(settings())
    with pytest.raises(ApiError) as err:  # the page's own read
        await paginator.page(ACCOUNT_A, ListQuery(page=50, page_size=50), flaky)
    assert err.value.status == 503
    # Call 3 is the background count's: it stops, and the waiting request starts it again
    # from the progress it saved.
    page = await paginator.page(ACCOUNT_A, ListQuery(page=50, page_size=50), flaky)
    assert [m.sid for m in page.messages] == [m.sid for m in upstream.messages[2500:2550]]
    assert page.total == 3000


async def test_invalid_query_is_a_400_not_a_crash(upstream: FakeUpstream) -> None:
    paginator = Paginator(settings())
    for query in (ListQuery(page=-1), ListQuery(page_size=0), ListQuery(page_size=1001)):
        with pytest.raises(ApiError) as err:
            await paginator.page(ACCOUNT_A, query, upstream.fetch)
        assert err.value.status == 400
    assert upstream.calls == []


def test_bad_paging_settings_are_config_errors() -> None:
    # Checked once, with every other setting, before anything is built from them.
    with pytest.raises(ConfigError, match="upstream_page_size"):
        check(settings(upstream_page_size=1001))
    with pytest.raises(ConfigError, match="total_bound"):
        check(settings(total_bound=0))


async def test_a_large_page_past_a_checkpoints_reach_is_one_read_the_next_time(upstream: FakeUpstream) -> None:
    fill(upstream, 5000)
    paginator = Paginator(settings())
    await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    # Page 5 of 500 (offsets 2500..2999) from the checkpoint at 1949 is more than one read of
    # 1000: the first read ends at the page's start and leaves a cursor there.
    upstream.calls.clear()
    first = await paginator.page(ACCOUNT_A, ListQuery(page=5, page_size=500), upstream.fetch)
    assert first.upstream_requests == 3
    assert upstream.calls[1] == (551, f"after:{upstream.messages[1948].sid}")
    again = await paginator.page(ACCOUNT_A, ListQuery(page=5, page_size=500), upstream.fetch)
    assert again.upstream_requests == 2
    for page in (first, again):
        assert [m.sid for m in page.messages] == [m.sid for m in upstream.messages[2500:3000]]
