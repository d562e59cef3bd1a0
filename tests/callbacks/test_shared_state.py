"""The relay's exactly-once promise on a shared store, with two gateway apps in this process
standing for two replicas on one real Redis: a failed call frees the message for the other
replica, a claim held elsewhere is waited on (never answered as delivered early), a claim
whose holder died lapses, and the store-down policies."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from gateway.callbacks import wrap_status_callback
from gateway.state.redis import RedisStore
from tests.callbacks.conftest import ACCOUNT, LegacyApp, gateway_settings, status_event, twilio_post
from tests.state.replicas import metric
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # a fixture

MakeGateway = Callable[..., Awaitable[TestClient]]


def _sid() -> str:
    return "SM" + uuid.uuid4().hex


def _url(legacy: LegacyApp) -> str:
    return wrap_status_callback(gateway_settings(), legacy.url("/status"), ACCOUNT, "v2008")


async def _replicas(make_gateway: MakeGateway, url: str, **changes: object) -> list[TestClient]:
    prefix = f"t{uuid.uuid4().hex[:12]}:"
    return [
        await make_gateway(state_url=url, state_key_prefix=prefix, **changes) for _ in range(2)
    ]


async def test_a_failed_call_on_one_replica_lets_the_other_deliver(
    make_gateway: MakeGateway, legacy: LegacyApp, redis_server: RedisServer
) -> None:
    a, b = await _replicas(make_gateway, redis_server.url)
    sid, url = _sid(), _url(legacy)
    legacy.replies = [(500, "")]
    assert (await twilio_post(a, url, status_event(sid, "sent"))).status == 502
    assert (await twilio_post(b, url, status_event(sid, "sent"))).status == 200
    assert (await twilio_post(a, url, status_event(sid, "delivered"))).status == 204
    assert len(legacy.seen) == 2  # the failed attempt, then the one delivery


async def test_an_event_waits_for_the_other_replicas_outcome(
    make_gateway: MakeGateway, legacy: LegacyApp, redis_server: RedisServer
) -> None:
    a, b = await _replicas(make_gateway, redis_server.url)
    sid, url = _sid(), _url(legacy)
    legacy.delay = 0.5  # the legacy app answers a's call 0.5 s after it arrives
    legacy.replies = [(500, ""), (200, "")]
    first = asyncio.create_task(twilio_post(a, url, status_event(sid, "sent")))
    while not legacy.seen:  # a's call is in flight, its claim held
        await asyncio.sleep(0.01)
    # b must not answer before a's outcome: a fails, so b delivers itself.
    second = await twilio_post(b, url, status_event(sid, "delivered"))
    assert (await first).status == 502
    assert second.status == 200
    assert len(legacy.seen) == 2


async def test_a_claim_held_past_the_wait_is_a_503_and_a_dead_holders_claim_lapses(
    make_gateway: MakeGateway, legacy: LegacyApp, redis_server: RedisServer
) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}:"
    gw = await make_gateway(
        state_url=redis_server.url, state_key_prefix=prefix, callback_timeout=0.3
    )
    sid, url = _sid(), _url(legacy)
    other = RedisStore(redis_server.url, prefix=prefix, timeout=2.0)
    try:
        # Another replica holds the claim for longer than this one waits (0.3 + 1 s).
        assert await other.claim(f"cb:{ACCOUNT}:{sid}:status", 3.0)
        resp = await twilio_post(gw, url, status_event(sid, "sent"))
        assert resp.status == 503
        assert legacy.seen == []
        # A holder that died: its claim lapses within the wait, then this replica delivers.
        sid2 = _sid()
        assert await other.claim(f"cb:{ACCOUNT}:{sid2}:status", 0.6)
        assert (await twilio_post(gw, url, status_event(sid2, "sent"))).status == 200
        assert [dict(s.params)["SmsSid"] for s in legacy.seen] == [sid2]
    finally:
        await other.close()
    text = await (await gw.get("/metrics")).text()
    assert metric(
        text, "sms_gateway_callback_relays_total", kind="status_callback", outcome="in_progress"
    ) == 1


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://:hunter2@127.0.0.1:{port}/0"


async def test_store_down_retry_later(make_gateway: MakeGateway, legacy: LegacyApp) -> None:
    gw = await make_gateway(state_url=_dead_url(), state_timeout=0.2)
    sid, url = _sid(), _url(legacy)
    resp = await twilio_post(gw, url, status_event(sid, "sent"))
    assert resp.status == 503
    assert legacy.seen == []
    # (Readiness itself, which the store does not decide, is checked in tests/state with a
    # reachable upstream; this app's upstream is the real Twilio, unreachable here.)
    body = await (await gw.get("/readyz")).json()
    assert body["checks"]["state_store"].startswith("unavailable")
    assert "hunter2" not in body["checks"]["state_store"]
    text = await (await gw.get("/metrics")).text()
    assert metric(text, "sms_gateway_state_store_up", backend="redis") == 0
    assert metric(text, "sms_gateway_state_store_errors_total", backend="redis") >= 1
    assert metric(
        text, "sms_gateway_callback_relays_total", kind="status_callback", outcome="store_down"
    ) == 1


async def test_store_down_relay_delivers_once_per_process(
    make_gateway: MakeGateway, legacy: LegacyApp
) -> None:
    gw = await make_gateway(
        state_url=_dead_url(), state_timeout=0.2, callback_store_down="relay"
    )
    sid, url = _sid(), _url(legacy)
    assert (await twilio_post(gw, url, status_event(sid, "sent"))).status == 200
    assert (await twilio_post(gw, url, status_event(sid, "delivered"))).status == 204
    assert len(legacy.seen) == 1


async def test_memory_store_keeps_single_process_behaviour(
    gateway: TestClient, legacy: LegacyApp
) -> None:
    sid, url = _sid(), _url(legacy)
    results = await asyncio.gather(
        *(twilio_post(gateway, url, status_event(sid, s)) for s in ("sent", "delivered", "sent"))
    )
    assert sorted(r.status for r in results) == [200, 204, 204]
    assert len(legacy.seen) == 1
    body = await (await gateway.get("/readyz")).json()
    assert body["checks"]["state_store"] == "ok (memory://, this process only)"
