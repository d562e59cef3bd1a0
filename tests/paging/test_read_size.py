"""Which PageSize the paginator asks upstream for (docs/paging.md, "How a page is served"): a
page within the list's first 1000 offsets is read from the head, exactly up to its end (one
more while no exact count says whether more follow); a deeper page is a head probe of 50 and a
read from the nearest checkpoint up to the page's end; a cold list's first read is 1000 (also
the background count's first page). Every page makes at least one upstream request."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.config import Settings
from gateway.model import ListQuery
from gateway.paging import Paginator
from tests.paging.conftest import ACCOUNT_A, FakeUpstream, make_message


def paginator(**changes: object) -> Paginator:
    return Paginator(dataclasses.replace(Settings(), **changes))  # type: ignore[arg-type]


@pytest.fixture
def listing() -> FakeUpstream:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(2500)))
    return upstream


async def read(p: Paginator, upstream: FakeUpstream, page: int, size: int = 50) -> list[int]:
    """The PageSizes of the upstream requests one legacy page made (background count reads
    excluded: they are counted apart)."""
    upstream.calls.clear()
    counted = p.stats.reads.get("count", 0)
    got = await p.page(ACCOUNT_A, ListQuery(page=page, page_size=size), upstream.fetch)
    expected = upstream.messages[page * size:(page + 1) * size]
    assert list(got.messages) == expected
    count_reads = p.stats.reads.get("count", 0) - counted
    assert got.upstream_requests == len(upstream.calls) - count_reads >= 1
    return [size for size, _ in upstream.calls[: got.upstream_requests]]


async def test_exact_mode_cold_then_warm_page_sizes(listing: FakeUpstream) -> None:
    p = paginator()
    assert await read(p, listing, 0) == [1000]  # the page and the count's first chunk
    assert len(listing.calls) == 3  # the count read chunks 1 and 2 in the background
    assert await read(p, listing, 0) == [50]  # poller: exactly the page
    assert await read(p, listing, 1) == [100]  # offsets 50..99, from the head
    assert await read(p, listing, 30) == [50, 550]  # head probe; checkpoint 1000 to 1550


async def test_total_off_reads_page_zero_and_one_more(listing: FakeUpstream) -> None:
    p = paginator(total_mode="off")
    assert await read(p, listing, 0, size=20) == [21]  # no count says whether more follow
    assert await read(p, listing, 0, size=20) == [21]
    assert await read(p, listing, 1, size=20) == [41]


async def test_direct_mode_reads_the_legacy_page_size_from_the_head(listing: FakeUpstream) -> None:
    p = paginator(upstream_page_size=0, total_mode="off")
    assert await read(p, listing, 0) == [50]
    assert await read(p, listing, 3) == [50, 151]  # probe; from its cursor to the page's end


async def test_new_messages_are_counted_from_the_head_not_recounted(
    listing: FakeUpstream,
) -> None:
    p = paginator()
    await read(p, listing, 0)
    listing.add(make_message(9999))
    # The page-0 read finds the old head one place down: one arrival, no recount.
    assert await read(p, listing, 0) == [50]
    assert len(listing.calls) == 1
    page = await p.page(ACCOUNT_A, ListQuery(page=0, page_size=50), listing.fetch)
    assert (page.total, page.total_is_exact) == (2501, True)
