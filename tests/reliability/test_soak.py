"""The soak, short by default; ``SOAK_REQUESTS=20000`` (or ``python tests/bench/soak.py``)
runs the long one. Mixed sends, fetches and list pages of both legacy dialects at concurrency
50 with 10% of upstream API requests faulted, status callbacks relayed from the sandbox to a
legacy app."""

from __future__ import annotations

import os

from tests.reliability.soak import run_soak

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "3000"))
# The in-process sandbox keeps every message (and the client, gateway, proxy and legacy app
# share the process): part of the growth is theirs.
RSS_GROWTH_BOUND_MIB = 128


async def test_soak_no_500_no_duplicate_no_loss_callbacks_once_no_leak() -> None:
    result = await run_soak(REQUESTS, concurrency=50, fault_rate=0.1, seed=1)
    print("\n" + result.table())
    assert result.requests == REQUESTS
    assert min(result.by_dialect["v2008"], result.by_dialect["sms2010"]) > REQUESTS // 3
    assert result.statuses[500] == 0
    assert set(result.statuses) <= {200, 201, 429, 502, 503, 504}, result.statuses
    assert result.faults_injected > REQUESTS // 20
    assert result.duplicates == 0
    assert result.losses == 0
    outcomes = {s.outcome for s in result.sends.values()}
    assert {"ok", "unknown"} <= outcomes
    ok = sum(1 for s in result.sends.values() if s.outcome == "ok")
    # Every send the client saw succeed: exactly one legacy callback, right sid, status,
    # dialect shape and signature; no message called back twice, none that does not exist.
    assert result.callback_losses == 0
    assert result.callback_duplicates == 0
    assert result.callback_wrong == 0
    assert result.callbacks_stray == 0
    assert ok <= result.callbacks == ok + result.callbacks_for_unknown
    assert result.fds_end == result.fds_start
    assert (result.rss_end_kib - result.rss_start_kib) / 1024 < RSS_GROWTH_BOUND_MIB
