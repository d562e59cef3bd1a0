"""Property (issue 18): over the real sandbox, with seeded accounts, random filters and page
sizes, and messages arriving between requests, every legacy page is exactly the upstream's
filtered list at the page's offset *as it is at that request*; totals are exact once the count
is done; with the default wait every total is exact at its first answer (none is ever below the
true count); without waiting, a provisional total never claims fewer messages than the page
proves, so a client looping ``Page < numpages`` reads every message that existed at its first
request."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.model import ListFilter, Page
from tests.paging.sandbox_support import (
    ACCOUNT,
    FROM_NUMBERS,
    TO_NUMBERS,
    Rig,
    expected_num_pages,
    filters,
    sandbox_rig,
    seed_messages,
)


def check(page: Page, truth: list[str], number: int, size: int) -> None:
    start = number * size
    assert [m.sid for m in page.messages] == truth[start : start + size]
    assert page.start == start
    assert page.has_next == (start + size < len(truth))
    assert page.total is not None and page.num_pages is not None
    if page.total_is_exact:
        assert page.total == len(truth)
        assert page.num_pages == expected_num_pages(len(truth), size)
    else:
        # Provisional: at least what this page proves, and one page more while one follows.
        assert page.total >= start + len(page.messages)
        if page.has_next:
            assert page.num_pages > number + 1


def arrive(rig: Rig, count: int, rng: random.Random) -> None:
    newest = max((m.date_created for m in rig.store.all(ACCOUNT)), default=None)
    start = (newest or rig.store._now()) + timedelta(seconds=1)
    rig.store.seed(
        ACCOUNT, count, start=start, to=lambda _i: rng.choice(TO_NUMBERS),
        from_=lambda _i: rng.choice(FROM_NUMBERS),
    )


async def scenario(
    count: int, seed: int, flt: ListFilter, size: int, steps: list[tuple[int, int]], wait: float
) -> None:
    config = dataclasses.replace(
        Settings(), sandbox_tick=0, paging_wait=wait, paging_account_rps=100_000
    )
    rng = random.Random(seed)
    async with sandbox_rig(config) as rig:
        # Without waiting, a slower upstream keeps the count running across requests.
        rig.latency.seconds = 0.01 if wait == 0 else 0.0
        seed_messages(rig.store, count, rng)
        first = await rig.upstream_sids(flt)
        event(f"listed: {'0' if not first else '1-999' if len(first) < 1000 else '1000+'}")
        exact_seen = False
        for jump, arrivals in steps:
            truth = await rig.upstream_sids(flt)
            pages = expected_num_pages(len(truth), size)
            number = jump % (pages + 1)
            page = await rig.page(flt, number, size)
            check(page, truth, number, size)
            if wait:
                # The default: the answer waits for the count within the request's budget, so
                # no total is ever below the true count; provisional totals only come from a
                # count the budget cannot wait for.
                assert page.total_is_exact
            exact_seen |= page.total_is_exact
            event("exact" if page.total_is_exact else "provisional")
            if arrivals:
                arrive(rig, arrivals, rng)
        rig.latency.seconds = 0.0
        # Once the count is done, totals are exact and stay exact as messages arrive.
        for _ in range(200):
            if not rig.paginator.counter.busy:
                break
            await asyncio.sleep(0.01)
        truth = await rig.upstream_sids(flt)
        page = await rig.page(flt, 0, size)
        check(page, truth, 0, size)
        assert page.total_is_exact and page.total == len(truth)
        if expected_num_pages(len(truth), size) > 300:
            return  # the loop below is covered by the shorter examples
        # A client looping `Page < numpages` (re-reading numpages) misses nothing.
        before = set(truth)
        seen: list[str] = []
        number, num_pages = 0, 1
        while number < num_pages:
            page = await rig.page(flt, number, size)
            seen.extend(m.sid for m in page.messages)
            num_pages = page.num_pages or 0
            number += 1
        assert before <= set(seen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(0, 40) | st.integers(1500, 3000) | st.integers(2000, 3000),
    seed=st.integers(0, 2**32 - 1),
    flt=filters,
    size=st.integers(1, 120) | st.integers(100, 1000),
    steps=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3)), min_size=1, max_size=6),
    wait=st.sampled_from([0.0, Settings().paging_wait]),
)
def test_pages_match_the_list_at_each_request(
    count: int, seed: int, flt: ListFilter, size: int, steps: list[tuple[int, int]], wait: float
) -> None:
    asyncio.run(scenario(count, seed, flt, size, steps, wait))
