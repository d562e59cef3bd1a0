"""Messages arriving while a client pages through a list (docs/paging.md, "Messages arriving
between page requests"): nothing crashes, nothing is skipped, no page repeats a sid, and every
page is the list as it is at the request, at the page's offset (legacy offset paging), however
deep: the paging index counts the arrivals at the head and shifts its checkpoints by them."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from gateway.config import Settings
from gateway.model import ListFilter, ListQuery, Message
from gateway.paging import Paginator
from tests.paging.conftest import ACCOUNT_A, FakeUpstream, make_message
from tests.paging.sandbox_support import ACCOUNT, sandbox_rig, seed_messages


async def walk_with_arrivals(
    paginator: Paginator, upstream: FakeUpstream, size: int, arrive: int, check: bool = False
) -> list[tuple[int, list[Message], int | None]]:
    pages = []
    number, fresh = 0, 10_000
    while True:
        page = await paginator.page(ACCOUNT_A, ListQuery(page=number, page_size=size), upstream.fetch)
        if check:
            now = [m.sid for m in upstream.messages[number * size : (number + 1) * size]]
            assert [m.sid for m in page.messages] == now
        pages.append((number, list(page.messages), page.total))
        if not page.has_next:
            return pages
        upstream.add(*(make_message(fresh + i) for i in range(arrive)))  # newest: at the head
        fresh += arrive
        number += 1


async def test_arrivals_shift_every_page_and_never_skip() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(3000)))
    original = [m.sid for m in upstream.messages]
    paginator = Paginator(dataclasses.replace(Settings(), upstream_page_size=1000))
    pages = await walk_with_arrivals(paginator, upstream, 50, arrive=2, check=True)
    seen = [m.sid for _, msgs, _ in pages for m in msgs]
    assert set(original) <= set(seen)  # nothing skipped
    for _, msgs, _ in pages:
        assert len({m.sid for m in msgs}) == len(msgs)  # no page repeats a sid
    # Each page is read at its offset in the list as it is now, as legacy offset paging did
    # (before issue 18 deep pages were anchored to old cursors instead): every arrival between
    # two pages shows the previous page's last message again.
    repeats = len(seen) - len(set(seen))
    assert repeats == 2 * (len(pages) - 1)
    # Totals follow the list exactly: each arrival is counted from the head, not recounted.
    totals = [total for _, _, total in pages]
    assert totals == [3000 + 2 * n for n in range(len(pages))]


async def test_a_new_walk_sees_new_messages_at_once() -> None:
    upstream = FakeUpstream()
    upstream.add(*(make_message(i) for i in range(2500)))
    paginator = Paginator(Settings())
    before = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    upstream.add(make_message(99_999))
    after = await paginator.page(ACCOUNT_A, ListQuery(page=0, page_size=50), upstream.fetch)
    assert after.messages[0].sid == make_message(99_999).sid
    assert (before.total, after.total) == (2500, 2501)
    # The arrival shifted every checkpoint by one: the last page is still exact.
    last = await paginator.page(ACCOUNT_A, ListQuery(page=50, page_size=50), upstream.fetch)
    assert [m.sid for m in last.messages] == [m.sid for m in upstream.messages[2500:]]


async def test_arrivals_against_the_sandbox() -> None:
    # The sandbox's cursors are positions "older than" a message, like Twilio's.
    config = dataclasses.replace(Settings(), sandbox_tick=0)
    async with sandbox_rig(config) as rig:
        seed_messages(rig.store, 2200, random.Random(7))
        newest = max(m.date_created for m in rig.store.all(ACCOUNT))
        original = await rig.upstream_sids(ListFilter())
        seen: list[str] = []
        number = 0
        while True:
            page = await rig.page(ListFilter(), number, 100)
            assert len({m.sid for m in page.messages}) == len(page.messages)
            seen.extend(m.sid for m in page.messages)
            if not page.has_next:
                break
            rig.store.seed(ACCOUNT, 3, start=newest + timedelta(seconds=1))
            newest += timedelta(seconds=3)  # each arrival is the newest message: the head
            number += 1
        assert set(original) <= set(seen)
        assert len(seen) - len(set(seen)) == 3 * number  # every page shifted by the arrivals
