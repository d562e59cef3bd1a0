"""Concurrent requests for one list are never served one at a time (there is no per-list lock
since issue 18): each reads its own page at once, and the list is counted once, in the
background, however many requests find it uncounted; a re-verification runs once too."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from gateway.config import Settings
from gateway.model import ListFilter, ListQuery, Message
from gateway.paging import Paginator
from tests.paging.conftest import ACCOUNT_A, FakeClock, FakeUpstream, make_message


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


async def test_pages_are_read_concurrently_and_the_list_counted_once() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(1200)))
    p = paginator()
    await serve_concurrently(p, up, 0, 4)  # cold: four head reads at once, one count
    assert up.most_waiting == 4
    assert p.stats.reads["count"] == 1  # chunk 1; chunk 0 was the first request's page
    assert len(up.calls) == 4 + 1
    await serve_concurrently(p, up, 0, 4)  # warm: all four at upstream at once
    assert up.most_waiting == 4
    assert up.calls == [(50, None)] * 4


async def test_warm_deep_pages_are_read_concurrently() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(2500)))
    p = paginator()
    await serve_concurrently(p, up, 25, 1)  # cold: the count files the checkpoint at 1000
    await serve_concurrently(p, up, 25, 3)
    assert up.most_waiting == 3
    # Each: a head probe of 50, then the checkpoint at 1000 read up to offset 1300.
    assert sorted(size for size, _ in up.calls) == [50] * 3 + [300] * 3
    assert all(token is not None for size, token in up.calls if size == 300)


async def test_total_mode_off_page_zero_is_never_serialised() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(300)))
    p = paginator(total_mode="off")
    await serve_concurrently(p, up, 0, 3)
    assert up.most_waiting == 3


async def test_a_reverification_runs_once_for_concurrent_requests() -> None:
    up = GatedUpstream()
    up.add(*(make_message(i) for i in range(1200)))
    wall = FakeClock()
    p = Paginator(dataclasses.replace(Settings(), total_ttl=60.0), wall=wall)
    await serve_concurrently(p, up, 0, 1)
    counted = p.stats.reads["count"]
    wall.now += 61  # the exact count is now older than total_ttl
    await serve_concurrently(p, up, 0, 3)
    for _ in range(100):
        if not p.counter.busy:
            break
        await asyncio.sleep(0.01)
    # three pages of 50 and one recount (two chunks) for all of them
    assert p.stats.reads["count"] - counted == 2
    assert sorted(size for size, _ in up.calls) == [50, 50, 50, 949, 1000]
