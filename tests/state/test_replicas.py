"""Two real gateway processes on one Redis behave as one gateway for status callbacks: exactly
one legacy callback per message whichever replica each of Twilio's events reaches, through a
Redis outage and after it; ``--workers 2`` on one Redis behaves the same."""

from __future__ import annotations

import asyncio
import json

from tests.ops.conftest import GatewayProcess, StartGateway, start_gateway
from tests.state.replicas import (
    Bench,
    bench,
    callback_url,
    legacy_callbacks,
    legacy_reads,
    legacy_send,
    metric,
    prefix,
    readiness,
    scrape,
    start_replica,
    status_event,
    twilio_event,
)
from tests.support.redis_server import RedisServer, own_redis_server, redis_server

__all__ = ["bench", "own_redis_server", "redis_server", "start_gateway"]  # fixtures

DELIVERED_OR_DUPLICATE = {200, 204}


async def test_one_callback_per_message_across_two_replicas(
    bench: Bench, start_gateway: StartGateway, redis_server: RedisServer
) -> None:
    keys = prefix()
    a, b = [
        await start_replica(start_gateway, bench, redis_server.url, "--state-key-prefix", keys)
        for _ in range(2)
    ]
    # A slow legacy app keeps the first event's claim held while the second event arrives.
    bench.legacy.delay = 0.2
    sids = [await legacy_send(bench, (a, b)[i % 2]) for i in range(24)]
    urls = {sid: callback_url(bench, sid) for sid in sids}
    statuses: list[int] = []

    async def event(replica: GatewayProcess, sid: str, status: str) -> None:
        statuses.append(await twilio_event(bench, replica, urls[sid], status_event(sid, status)))

    # Both deciding events at the same instant, one on each replica.
    await asyncio.gather(*(
        coro for sid in sids[:8] for coro in (event(a, sid, "sent"), event(b, sid, "delivered"))
    ))
    # One after the other, each on its own replica.
    for sid in sids[8:16]:
        await event(a, sid, "sent")
        await event(b, sid, "delivered")
    # Reversed order, with the first event replayed to the other replica at the same time.
    await asyncio.gather(*(
        coro for sid in sids[16:]
        for coro in (event(b, sid, "delivered"), event(a, sid, "sent"), event(a, sid, "delivered"))
    ))
    # Twilio replays an event long after: still nothing new for the legacy app.
    for sid in sids[::5]:
        await event(b, sid, "sent")

    assert legacy_callbacks(bench) == {sid: 1 for sid in sids}
    assert set(statuses) <= DELIVERED_OR_DUPLICATE, statuses
    texts = [await scrape(bench, r) for r in (a, b)]
    delivered = sum(
        metric(t, "sms_gateway_callback_relays_total", kind="status_callback", outcome="delivered")
        for t in texts
    )
    duplicates = sum(
        metric(t, "sms_gateway_callback_relays_total", kind="status_callback", outcome="duplicate")
        for t in texts
    )
    assert delivered == 24 and duplicates == len(statuses) - 24
    # Each replica relayed some and suppressed some: the state was really shared.
    for t in texts:
        assert metric(
            t, "sms_gateway_callback_relays_total", kind="status_callback", outcome="duplicate"
        ) > 0
    for replica in (a, b):
        status, checks = await readiness(bench, replica)
        assert status == 200 and checks["state_store"] == "ok"
    # Every key the callbacks left carries a TTL, under this run's prefix only.
    names = redis_server.command("KEYS", f"{keys}*").decode().split()
    assert len(names) == 24
    assert all(0 < int(redis_server.command("PTTL", n)) <= 86_400_000 for n in names)


async def test_redis_outage_and_recovery(
    bench: Bench, start_gateway: StartGateway, own_redis_server: RedisServer
) -> None:
    redis = own_redis_server
    a, b = [
        await start_replica(start_gateway, bench, redis.url, "--state-timeout", "0.3")
        for _ in range(2)
    ]
    before = await legacy_send(bench, a)
    assert await twilio_event(
        bench, a, callback_url(bench, before), status_event(before, "sent")
    ) == 200

    redis.stop()
    # Legacy traffic does not notice: sends, fetches and lists on both replicas.
    during = []
    for replica in (a, b, a, b):
        sid = await legacy_send(bench, replica)
        during.append(sid)
        assert all(s < 500 for s in await legacy_reads(bench, replica, sid))
    # Callbacks under the default policy: 503, so that Twilio sends them again later; the
    # legacy app hears nothing yet (no guess that could become a duplicate).
    for i, sid in enumerate(during):
        replica = (a, b)[i % 2]
        assert await twilio_event(
            bench, replica, callback_url(bench, sid), status_event(sid, "sent")
        ) == 503
    # A replica that reported a message itself still knows it: a duplicate, not a 503.
    assert await twilio_event(
        bench, a, callback_url(bench, before), status_event(before, "delivered")
    ) == 204
    for replica in (a, b):
        status, checks = await readiness(bench, replica)
        assert status == 200, checks  # still serving: sends do not need the store
        assert str(checks["state_store"]).startswith("unavailable"), checks
        assert "state_store_up" in (text := await scrape(bench, replica))
        assert metric(text, "sms_gateway_state_store_up", backend="redis") == 0
    assert set(legacy_callbacks(bench)) == {before}

    redis.start()
    # Recovery without a restart: both replicas see the store again by themselves.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    for replica in (a, b):
        while metric(await scrape(bench, replica), "sms_gateway_state_store_up",
                     backend="redis") != 1:
            assert loop.time() < deadline, "the replicas did not see Redis come back"
            await asyncio.sleep(0.2)
    # Twilio's retries arrive, on the other replica this time, and race the next event.
    for i, sid in enumerate(during):
        url = callback_url(bench, sid)
        first, second = await asyncio.gather(
            twilio_event(bench, (b, a)[i % 2], url, status_event(sid, "sent")),
            twilio_event(bench, (a, b)[i % 2], url, status_event(sid, "delivered")),
        )
        assert {first, second} == {200, 204}
    # State is shared again: a new message's events on both replicas, one callback.
    after = await legacy_send(bench, b)
    url = callback_url(bench, after)
    results = await asyncio.gather(
        twilio_event(bench, a, url, status_event(after, "sent")),
        twilio_event(bench, b, url, status_event(after, "delivered")),
    )
    assert sorted(results) == [200, 204]
    assert legacy_callbacks(bench) == {sid: 1 for sid in [before, *during, after]}
    for replica in (a, b):
        assert all(s < 500 for s in await legacy_reads(bench, replica, after))
        status, checks = await readiness(bench, replica)
        assert status == 200 and checks["state_store"] == "ok"
    assert not any("Traceback" in line for r in (a, b) for line in r.lines)


async def test_two_workers_on_one_redis_behave_as_two_replicas(
    bench: Bench, start_gateway: StartGateway, redis_server: RedisServer
) -> None:
    gw = await start_replica(
        start_gateway, bench, redis_server.url, "--workers", "2",
        "--state-key-prefix", prefix(),
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while sum("gateway listening on" in line for line in gw.lines) < 2:
        assert loop.time() < deadline, gw.lines
        await asyncio.sleep(0.05)
    assert not any("each worker keeps its own state" in line for line in gw.lines)
    bench.legacy.delay = 0.1
    sids = [await legacy_send(bench, gw) for _ in range(20)]
    # New connections each time: the kernel spreads them over both workers.
    await asyncio.gather(*(
        twilio_event(bench, gw, callback_url(bench, sid), status_event(sid, status),
                     fresh_connection=True)
        for sid in sids for status in ("sent", "delivered", "sent")
    ))
    assert legacy_callbacks(bench) == {sid: 1 for sid in sids}
    pids = {
        record["pid"] for record in gw.log_records()
        if record.get("operation") == "status_callback"
    }
    assert len(pids) == 2, pids  # both workers took events


async def test_workers_on_memory_warn_that_state_is_per_worker(
    bench: Bench, start_gateway: StartGateway
) -> None:
    gw = await start_replica(start_gateway, bench, "memory://", "--workers", "2")
    line = await gw.wait_log("each worker keeps its own state")
    record = json.loads(line)
    assert record["level"] == "warning"
    assert "StatusCallback may be relayed more than once" in record["msg"]
