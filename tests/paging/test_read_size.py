"""Which PageSize the paginator asks upstream for: the legacy page size for page 0 when no total
walk follows; the chunk size for cold totals and for every other page (so pages in the first
chunk are still read from the head, as docs/paging.md describes). Every page still makes at
least one upstream request."""

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
    """The PageSizes of the upstream requests one legacy page made."""
    upstream.calls.clear()
    got = await p.page(ACCOUNT_A, ListQuery(page=page, page_size=size), upstream.fetch)
    expected = upstream.messages[page * size:(page + 1) * size]
    assert list(got.messages) == expected
    assert got.upstream_requests == len(upstream.calls)
    return [size for size, _ in upstream.calls]


async def test_exact_mode_cold_page_reads_chunks_then_warm_reads_the_page(
    listing: FakeUpstream,
) -> None:
    p = paginator()
    assert await read(p, listing, 0) == [1000, 1000, 1000]  # page + total walk, as before
    assert await read(p, listing, 0) == [50]  # poller: total cached, one page of 50
    assert await read(p, listing, 1) == [1000]  # other pages: chunks, as before
    assert await read(p, listing, 30) == [1000]  # from the nearest chunk cursor


async def test_total_off_reads_page_zero_at_the_legacy_size(listing: FakeUpstream) -> None:
    p = paginator(total_mode="off")
    assert await read(p, listing, 0, size=20) == [20]
    assert await read(p, listing, 1, size=20) == [1000]


async def test_direct_mode_is_unchanged(listing: FakeUpstream) -> None:
    p = paginator(upstream_page_size=0, total_mode="off")
    assert await read(p, listing, 0) == [50]
    assert await read(p, listing, 3) == [50, 50, 50]  # from the cursor page 0 left


async def test_new_messages_fall_back_to_a_chunk_read_with_a_fresh_total(
    listing: FakeUpstream,
) -> None:
    p = paginator()
    await read(p, listing, 0)
    listing.add(make_message(9999))
    # The page-0 read sees a new head: a new generation, so the total is walked again.
    sizes = await read(p, listing, 0)
    assert sizes[0] == 50 and set(sizes[1:]) == {1000}
    assert await read(p, listing, 0) == [50]
