"""Warm pages are served without the list's lock: concurrent pollers of one list are not served
one at a time. Cold pages and totals still are (no double walks), and a warm walk whose total
has expired meanwhile counts under the lock, once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from gateway.config import Settings
from gateway.model import ListFilter, ListQuery, Message
from gateway.paging import Paginator
from tests.paging.conftest import ACCOUNT_A, FakeUpstream, make_message


class GatedUpstream(FakeUpstream):
    """Holds every read until released, and says how many are being held at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0
        self.most_waiting = 0

    async def fetch(
        self, flt: ListFilter, page_size: int, token: str | None
    ) -> tuple[Sequence[Message], str | None]:
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        await self.gate.wait()
        self.waiting -= 1
        return await super().fetch(flt, page_size, token)


def paginator(**changes: object) -> Paginator:
    return Paginator(dataclasses.replace(Settings(), **changes))  # type: ignore[arg-type]


async def serve_concurrently(p: Paginator, up: GatedUpstream, page: int, n: int) -> None:
    up.gate.clear()
    up.most_waiting = 0
    up.calls.clear()
    tasks = [
        asyncio.create_task(p.page(ACCOUNT_A, ListQuery(page=page, page_size=50), up.fetch))
        for _ in range(n)
    ]
    for _ in range(20):  # let every task reach upstream or the lock
        await asyncio.sleep(0)
    up.gate.set()
    pages = await asyncio.gather(*tasks)
    expected = up.messages[page * 50:(page + 1) * 50]
    assert all(list(got.messages) == expected for got in pages)


async def test_warm_page_zero_is_read_concurrently_and_cold_pages_one_walk_at_a_time() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(1200)))
    p = paginator()
    await serve_concurrently(p, up, 0, 4)  # cold: page walk and count under the lock
    assert up.most_waiting == 1
    assert len(up.calls) == 2 + 3  # first: 2 chunks; the others: one warm page of 50 each
    await serve_concurrently(p, up, 0, 4)  # warm: all four at upstream at once
    assert up.most_waiting == 4
    assert up.calls == [(50, None)] * 4


async def test_warm_deep_page_from_a_remembered_cursor_needs_no_lock() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(2500)))
    p = paginator()
    await serve_concurrently(p, up, 25, 1)  # cold: files the cursor of chunk 1
    await serve_concurrently(p, up, 25, 3)
    assert up.most_waiting == 3
    assert [size for size, token in up.calls] == [1000] * 3
    assert all(token is not None for _, token in up.calls)


async def test_total_mode_off_page_zero_is_never_locked() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(300)))
    p = paginator(total_mode="off")
    await serve_concurrently(p, up, 0, 3)
    assert up.most_waiting == 3


async def test_warm_walk_whose_total_expired_counts_once_under_the_lock() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(1200)))
    p = paginator()
    await serve_concurrently(p, up, 0, 1)
    up.gate.clear()
    up.calls.clear()
    tasks = [
        asyncio.create_task(p.page(ACCOUNT_A, ListQuery(page=0, page_size=50), up.fetch))
        for _ in range(3)
    ]
    for _ in range(20):
        await asyncio.sleep(0)
    p.cache._totals.clear()  # the total expires while the warm reads are at upstream
    up.gate.set()
    pages = await asyncio.gather(*tasks)
    assert all(got.total == 1200 for got in pages)
    # three warm pages of 50, then one count for all of them, resumed from the cursor of
    # chunk 1 that the first (cold) walk remembered
    assert sorted(size for size, _ in up.calls) == [50, 50, 50, 1000]
