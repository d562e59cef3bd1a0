"""The soak, short by default; ``SOAK_REQUESTS=20000`` (or ``python tests/bench/soak.py``)
runs the long one. Mixed 2008 sends, fetches and list pages at concurrency 50 with 10% of
upstream requests faulted."""

from __future__ import annotations

import os

from tests.reliability.soak import run_soak

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "1500"))
RSS_GROWTH_BOUND_MIB = 96  # the in-process upstream keeps every message: it grows too


async def test_soak_no_500_no_duplicate_no_loss_no_leak() -> None:
    result = await run_soak(REQUESTS, concurrency=50, fault_rate=0.1, seed=1)
    print("\n" + result.table())
    assert result.requests == REQUESTS
    assert result.statuses[500] == 0
    assert set(result.statuses) <= {200, 201, 429, 502, 503, 504}, result.statuses
    assert result.faults_injected > REQUESTS // 20
    assert result.duplicates == 0
    assert result.losses == 0
    assert "ok" in result.sends.values() and "unknown" in result.sends.values()
    assert result.fds_end == result.fds_start
    assert (result.rss_end_kib - result.rss_start_kib) / 1024 < RSS_GROWTH_BOUND_MIB
