"""Property: for any message set, filter and page size, the legacy pages the gateway serves
over the real sandbox concatenate to exactly the upstream's filtered list (following the next
page, and separately jumping with Page=N), with exact total/num_pages/end on every page."""

from __future__ import annotations

import asyncio
import dataclasses
import random

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.model import ListFilter, Page
from tests.paging.sandbox_support import (
    expected_num_pages,
    filters,
    sandbox_rig,
    seed_messages,
)


def check_page(page: Page, sids: list[str], number: int, size: int) -> None:
    total = len(sids)
    assert [m.sid for m in page.messages] == sids[number * size : (number + 1) * size]
    assert (page.total, page.total_is_exact) == (total, True)
    assert page.num_pages == expected_num_pages(total, size)
    assert page.start == number * size
    assert page.end == page.start + max(len(page.messages) - 1, 0)
    assert page.has_next == ((number + 1) * size < total)


async def scenario(count: int, seed: int, flt: ListFilter, size: int, chunk: int) -> None:
    config = dataclasses.replace(Settings(), upstream_page_size=chunk)
    async with sandbox_rig(config) as rig:
        seed_messages(rig.store, count, random.Random(seed))
        truth = await rig.upstream_sids(flt)
        event(f"listed: {'0' if not truth else '1-999' if len(truth) < 1000 else '1000+'}")
        event(f"pages: {'1' if len(truth) <= size else '2-9' if len(truth) <= 9 * size else '10+'}")
        # Following the next page, as a `while nextpageuri` client does.
        walked: list[str] = []
        number = 0
        while True:
            page = await rig.page(flt, number, size)
            check_page(page, truth, number, size)
            walked.extend(m.sid for m in page.messages)
            if not page.has_next:
                break
            number += 1
        assert walked == truth and len(set(walked)) == len(walked)
        # Jumping, in an order no client would use, on a fresh paginator (cold cursors).
        async with sandbox_rig(config) as cold:
            seed_messages(cold.store, count, random.Random(seed))
            cold_truth = await cold.upstream_sids(flt)
            pages = expected_num_pages(len(cold_truth), size)
            order = list(range(pages + 1))
            random.Random(seed).shuffle(order)
            jumped: dict[int, list[str]] = {}
            for number in order:
                page = await cold.page(flt, number, size)
                check_page(page, cold_truth, number, size)
                jumped[number] = [m.sid for m in page.messages]
            assert [s for n in sorted(jumped) for s in jumped[n]] == cold_truth


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    # Hypothesis favours small integers; ask for long lists explicitly, and small ones too.
    count=st.integers(0, 60) | st.integers(900, 3000) | st.integers(2000, 3000),
    seed=st.integers(0, 2**32 - 1),
    flt=filters,
    size=st.integers(20, 120) | st.integers(20, 1000),
    chunk=st.sampled_from([1000, 0, 250, 333]),
)
def test_legacy_pages_concatenate_to_the_upstream_list(
    count: int, seed: int, flt: ListFilter, size: int, chunk: int
) -> None:
    asyncio.run(scenario(count, seed, flt, size, chunk))
