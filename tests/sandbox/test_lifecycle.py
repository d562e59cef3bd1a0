"""Status progression, outcomes chosen by To number, and signed status callbacks (checked with
twilio-python's own RequestValidator)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from itertools import pairwise
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from gateway.sandbox.app import CLOCK, LIFECYCLE, SANDBOX, STORE, WEBHOOKS, create_sandbox_app
from gateway.sandbox.outbound import CreateRequest
from gateway.sandbox.webhooks import Delivery, Pairs
from tests.sandbox.conftest import ACCOUNT, API, AUTH, TOKEN, send


def assert_signed(rec) -> None:
    validator = RequestValidator(TOKEN)
    for r in rec.requests:
        assert validator.validate(r.url, dict(r.params), r.headers["X-Twilio-Signature"]), r
        assert not RequestValidator("wrong-token").validate(
            r.url, dict(r.params), r.headers["X-Twilio-Signature"]
        )


async def status_of(client, sid: str) -> dict:
    resp = await client.get(f"{API}/Messages/{sid}.json", headers=AUTH)
    return await resp.json()


@pytest.mark.parametrize(
    ("to", "statuses", "error_code"),
    [
        ("+14155551212", ["sending", "sent", "delivered"], None),
        ("+15005550010", ["sending", "sent"], None),
        ("+15005550011", ["sending", "failed"], 30008),
        ("+15005550012", ["sending", "sent", "undelivered"], 30003),
        ("+15005550013", ["sending", "sent", "undelivered"], 30005),
        ("+15005550014", ["sending", "sent", "undelivered"], 30006),
    ],
)
async def test_progression_and_callbacks(
    client, sandbox_app, receiver, to, statuses, error_code
) -> None:
    status, created = await send(client, To=to, StatusCallback=receiver.url("/status?x=1"))
    assert status == 201 and created["status"] == "queued"
    await sandbox_app[LIFECYCLE].settle()
    final = await status_of(client, created["sid"])
    assert final["status"] == statuses[-1]
    assert final["error_code"] == error_code
    assert (final["error_message"] is None) == (error_code is None)
    assert (final["date_sent"] is None) == ("sent" not in statuses)

    assert [dict(r.params)["MessageStatus"] for r in receiver.requests] == statuses
    for r in receiver.requests:
        p = dict(r.params)
        assert r.method == "POST" and r.url.endswith("/status?x=1")
        assert p["MessageSid"] == p["SmsSid"] == created["sid"]
        assert p["SmsStatus"] == p["MessageStatus"]
        assert p["AccountSid"] == created["account_sid"]
        assert (p["From"], p["To"], p["ApiVersion"]) == ("+15005550006", to, "2010-04-01")
        if p["MessageStatus"] in ("failed", "undelivered"):
            assert p["ErrorCode"] == str(error_code)
        else:
            assert "ErrorCode" not in p
    assert_signed(receiver)


async def test_tick_paces_the_steps(aiohttp_client, receiver) -> None:
    app = create_sandbox_app(tick=0.1)
    client = await aiohttp_client(app)
    started = asyncio.get_running_loop().time()
    _, created = await send(client, StatusCallback=receiver.url())
    assert created["status"] == "queued"
    await app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    # sleeps only ever last at least the tick: a lower bound that load cannot break
    times = [started] + [r.at for r in receiver.requests]
    assert len(times) == 4
    assert all(b - a >= 0.09 for a, b in pairwise(times))


async def test_manual_clock(aiohttp_client) -> None:
    app = create_sandbox_app(manual=True)
    client = await aiohttp_client(app)
    _, created = await send(client)
    await asyncio.sleep(0.01)
    assert (await status_of(client, created["sid"]))["status"] == "queued"
    assert await app[LIFECYCLE].advance(created["sid"]) == 1
    assert (await status_of(client, created["sid"]))["status"] == "sending"
    await app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    app[CLOCK].manual = False  # switchable per instance
    app[CLOCK].tick = 0
    _, other = await send(client)
    await app[LIFECYCLE].settle()
    assert (await status_of(client, other["sid"]))["status"] == "delivered"


async def test_callback_failures_are_survived_and_retried(client, sandbox_app, receiver) -> None:
    receiver.status = 500
    sandbox_app[WEBHOOKS].retry_delay = 0
    _, created = await send(client, StatusCallback=receiver.url())
    await sandbox_app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    # one retry per status change on a 5xx
    assert len(receiver.requests) == 2 * 3
    deliveries = sandbox_app[WEBHOOKS].deliveries
    assert [d.status for d in deliveries] == [500] * 3 and all(d.attempts == 2 for d in deliveries)


async def test_unreachable_callback_does_not_stop_progression(client, sandbox_app) -> None:
    sandbox_app[WEBHOOKS].retry_delay = 0
    _, created = await send(client, StatusCallback="http://127.0.0.1:9/nothing-listens")
    await sandbox_app[LIFECYCLE].settle()
    assert (await status_of(client, created["sid"]))["status"] == "delivered"
    assert all(d.status is None and d.error for d in sandbox_app[WEBHOOKS].deliveries)


async def test_sms2010_messages_call_back_once_the_legacy_way(client, sandbox_app, receiver):
    for to in ("+14155551212", "+15005550011", "+15005550012"):
        resp = await client.post(
            f"{API}/SMS/Messages.json",
            data={"To": to, "From": "+15005550006", "Body": "hi",
                  "StatusCallback": receiver.url("/legacy")},
            headers=AUTH,
        )
        assert resp.status == 201
    await sandbox_app[LIFECYCLE].settle()
    got = sorted((dict(r.params)["To"], dict(r.params)["SmsStatus"]) for r in receiver.requests)
    # delivered -> sent; failed -> failed; undelivered was "sent" first, and it calls back once
    assert got == [("+14155551212", "sent"), ("+15005550011", "failed"),
                   ("+15005550012", "sent")]
    for r in receiver.requests:
        assert set(dict(r.params)) == {"AccountSid", "ApiVersion", "From", "SmsSid", "SmsStatus",
                                       "To"}
    assert_signed(receiver)


async def test_shutdown_cancels_pending_progressions(aiohttp_server, receiver) -> None:
    app = create_sandbox_app(tick=30)
    server = await aiohttp_server(app)
    async with TestClient(server) as client:
        await send(client, StatusCallback=receiver.url())
        assert app[LIFECYCLE].in_flight == 1
    await server.close()
    assert app[LIFECYCLE].in_flight == 0
    assert receiver.requests == []


# --- progressions are timers between steps, tasks only while a step runs ---------------------

def create_request(to: str = "+14155551212", status_callback: str | None = None) -> CreateRequest:
    return CreateRequest(to=to, from_="+15005550006", body="hello",
                         status_callback=status_callback)


async def test_pending_progressions_hold_timers_not_tasks(aiohttp_client) -> None:
    app = create_sandbox_app(tick=86400)
    await aiohttp_client(app)  # started, so close() runs at teardown as in production
    lifecycle = app[LIFECYCLE]
    tasks_before = len(asyncio.all_tasks())
    for _ in range(2000):
        app[SANDBOX].send(ACCOUNT, create_request())
    assert len(asyncio.all_tasks()) == tasks_before
    assert (lifecycle.timers, lifecycle.running, lifecycle.in_flight) == (2000, 0, 2000)
    assert {m.status for m in app[STORE].all(ACCOUNT)} == {"queued"}


async def test_pending_progressions_cost_the_collector_only_their_messages(
    aiohttp_client,
) -> None:
    app = create_sandbox_app(tick=86400)
    await aiohttp_client(app)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(2000):
        app[SANDBOX].send(ACCOUNT, create_request())
    gc.collect()
    gc.collect()  # the second sees the scheduler's nested tuples after their items
    # 2000 StoredMessages and nothing per message besides (a loop timer each would add 6000).
    assert len(gc.get_objects()) - before < 2100


async def test_short_tick_calls_back_each_message_in_order(aiohttp_client, receiver) -> None:
    app = create_sandbox_app(tick=0.01)
    await aiohttp_client(app)
    outcomes = {"+14155551212": ["sending", "sent", "delivered"],
                "+15005550011": ["sending", "failed"],
                "+15005550012": ["sending", "sent", "undelivered"]}
    sent = {app[SANDBOX].send(ACCOUNT, create_request(to, receiver.url())).sid: to
            for to in list(outcomes) * 10}
    await app[LIFECYCLE].settle()
    assert app[LIFECYCLE].in_flight == 0
    seen: dict[str, list[str]] = {}
    for r in receiver.requests:
        p = dict(r.params)
        seen.setdefault(p["MessageSid"], []).append(p["MessageStatus"])
    assert seen == {sid: outcomes[to] for sid, to in sent.items()}


async def test_close_cancels_pending_timers(aiohttp_client, receiver) -> None:
    app = create_sandbox_app(tick=0.02)
    await aiohttp_client(app)
    sids = [app[SANDBOX].send(ACCOUNT, create_request(status_callback=receiver.url())).sid
            for _ in range(50)]
    await app[LIFECYCLE].close()
    assert app[LIFECYCLE].in_flight == 0
    # Nothing can be awaited for "nothing happened": give the timers ten ticks to misfire.
    await asyncio.sleep(0.2)
    assert receiver.requests == []
    assert {app[STORE].get(ACCOUNT, s).status for s in sids} == {"queued"}


async def test_close_cancels_a_running_step(aiohttp_client, monkeypatch) -> None:
    app = create_sandbox_app(tick=0)
    await aiohttp_client(app)
    entered = asyncio.Event()
    calls: list[str] = []

    async def hanging_send(kind: str, url: str, method: str, params: Pairs, token: str) -> None:
        calls.append(dict(params)["MessageStatus"])
        entered.set()
        await asyncio.Event().wait()  # a callback that never answers

    monkeypatch.setattr(app[WEBHOOKS], "send", hanging_send)
    sid = app[SANDBOX].send(ACCOUNT, create_request(status_callback="http://x.invalid/")).sid
    await entered.wait()
    assert (app[LIFECYCLE].running, app[LIFECYCLE].timers) == (1, 0)
    await app[LIFECYCLE].close()
    assert app[LIFECYCLE].in_flight == 0
    for _ in range(10):  # tick 0: a step would follow within a couple of loop iterations
        await asyncio.sleep(0)
    assert calls == ["sending"]
    assert app[STORE].get(ACCOUNT, sid).status == "sending"


async def test_a_failing_step_is_logged_and_stops_only_its_message(
    aiohttp_client, receiver, caplog, monkeypatch
) -> None:
    app = create_sandbox_app(tick=0)
    await aiohttp_client(app)
    real_send = app[WEBHOOKS].send

    async def send(kind: str, url: str, method: str, params: Pairs, token: str) -> Delivery:
        if url.endswith("/boom"):
            raise RuntimeError("a bug in a step")
        return await real_send(kind, url, method, params, token)

    monkeypatch.setattr(app[WEBHOOKS], "send", send)
    bad = app[SANDBOX].send(ACCOUNT, create_request(status_callback=receiver.url("/boom")))
    good = app[SANDBOX].send(ACCOUNT, create_request(status_callback=receiver.url()))
    await app[LIFECYCLE].settle()
    assert app[LIFECYCLE].in_flight == 0
    assert (bad.status, good.status) == ("sending", "delivered")
    assert f"status progression of {bad.sid} stopped" in caplog.text


async def test_an_evicted_message_stops_progressing(aiohttp_client, receiver) -> None:
    app = create_sandbox_app(tick=0, max_messages=1)
    await aiohttp_client(app)
    first = app[SANDBOX].send(ACCOUNT, create_request(status_callback=receiver.url("/first")))
    second = app[SANDBOX].send(ACCOUNT, create_request(status_callback=receiver.url("/second")))
    await app[LIFECYCLE].settle()
    assert app[LIFECYCLE].in_flight == 0
    assert (first.status, second.status) == ("queued", "delivered")
    assert {r.url.rsplit("/", 1)[1] for r in receiver.requests} == {"second"}


# --- waiting progressions share one scheduler (one loop timer for all) ----------------------

class Callbacks:
    """Stands in for the webhook sender: records each status callback as (sid, status, loop
    time) and lets a test wait for one."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, float]] = []
        self.then: Callable[[], object] = lambda: None  # runs after each callback
        self._changed = asyncio.Event()

    async def send(self, kind: str, url: str, method: str, params: Pairs, token: str) -> None:
        p = dict(params)
        self.seen.append((p["MessageSid"], p["MessageStatus"], asyncio.get_running_loop().time()))
        self._changed.set()
        self.then()

    def statuses(self, sid: str) -> list[str]:
        return [status for s, status, _ in self.seen if s == sid]

    async def until(self, sid: str, status: str) -> None:
        while status not in self.statuses(sid):
            self._changed.clear()
            await self._changed.wait()


@pytest.fixture
def started(
    aiohttp_client, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Awaitable[tuple[web.Application, Callbacks]]]:
    """A running sandbox app (create_sandbox_app's options) whose callbacks are recorded."""

    async def start(**options: Any) -> tuple[web.Application, Callbacks]:
        app = create_sandbox_app(**options)
        await aiohttp_client(app)  # started, so close() runs at teardown as in production
        seen = Callbacks()
        monkeypatch.setattr(app[WEBHOOKS], "send", seen.send)
        return app, seen

    return start


def send_with_callback(app: web.Application, to: str = "+14155551212") -> str:
    return app[SANDBOX].send(ACCOUNT, create_request(to, "http://callback.invalid/")).sid


async def test_a_step_waits_for_the_tick_read_when_it_was_scheduled(started) -> None:
    app, seen = await started(tick=3600)
    waiting = send_with_callback(app)
    app[CLOCK].tick = 0
    quick = send_with_callback(app)  # due long before the first message, yet scheduled after it
    await seen.until(quick, "delivered")
    assert seen.statuses(quick) == ["sending", "sent", "delivered"]
    assert seen.statuses(waiting) == []
    assert app[STORE].get(ACCOUNT, waiting).status == "queued"
    assert app[LIFECYCLE].timers == 1  # the first message, still waiting


async def test_a_changed_tick_applies_from_the_next_step(started) -> None:
    app, seen = await started(tick=0)
    # Changed while the first step runs, so the steps after it are scheduled with it.
    seen.then = lambda: setattr(app[CLOCK], "tick", 0.1)
    sid = send_with_callback(app)
    await app[LIFECYCLE].settle()
    assert seen.statuses(sid) == ["sending", "sent", "delivered"]
    times = [at for _, _, at in seen.seen]
    assert all(b - a >= 0.09 for a, b in pairwise(times))  # lower bounds: load cannot break them


async def test_messages_due_at_different_times_each_call_back_in_order(started) -> None:
    app, seen = await started(tick=0)
    outcomes = {"+14155551212": ["sending", "sent", "delivered"],
                "+15005550011": ["sending", "failed"],
                "+15005550012": ["sending", "sent", "undelivered"]}
    sent: dict[str, str] = {}
    for i, to in enumerate(list(outcomes) * 40):
        app[CLOCK].tick = (i % 4) * 0.005  # first steps fall due out of sending order
        sent[send_with_callback(app, to)] = to
    await app[LIFECYCLE].settle()
    assert app[LIFECYCLE].in_flight == 0
    assert {sid: seen.statuses(sid) for sid in sent} == {
        sid: outcomes[to] for sid, to in sent.items()
    }


async def test_messages_evicted_while_waiting_stop_and_the_rest_go_on(started) -> None:
    app, seen = await started(tick=0, max_messages=10)
    sids = [send_with_callback(app) for _ in range(30)]
    await app[LIFECYCLE].settle()
    assert app[LIFECYCLE].in_flight == 0
    assert {s for s, _, _ in seen.seen} == set(sids[20:])
    assert all(seen.statuses(s) == ["sending", "sent", "delivered"] for s in sids[20:])


async def test_close_drops_waiting_steps_and_later_messages_still_progress(started) -> None:
    app, seen = await started(tick=0)
    dropped = []
    for i in range(20):
        app[CLOCK].tick = i * 0.001
        dropped.append(send_with_callback(app))
    await app[LIFECYCLE].close()
    assert app[LIFECYCLE].in_flight == 0
    app[CLOCK].tick = 0.03
    # Due after every dropped step would have been: had one run, its callback came first.
    later = send_with_callback(app)
    await app[LIFECYCLE].settle()
    assert [s for s, _, _ in seen.seen] == [later] * 3
    assert {app[STORE].get(ACCOUNT, s).status for s in dropped} == {"queued"}
