"""Every upstream fault against every operation, at the level of MessagesUpstream over real
HTTP to the faulty upstream. Each row of FAULT_MATRIX is a cell of the table in
docs/reliability.md."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, replace

import pytest
from multidict import MultiDict

from gateway import errors
from gateway.model import ApiError, ListQuery, SendRequest
from gateway.observability.context import Observation, current
from tests.reliability.conftest import (
    ACCOUNT,
    CREDS,
    FAST,
    Harness,
    HarnessFactory,
    settle,
)
from tests.reliability.faulty_upstream import (
    ALL_FAULTS,
    Fault,
    FaultyUpstream,
    bare_status,
    hang,
    hang_after_headers,
    html_error,
    latency,
    non_json,
    rate_limited,
    refused_url,
    reset_before,
    reset_mid_body,
    status,
    too_large,
    truncated_json,
)
from tests.reliability.soak import open_fds

SEND = SendRequest(to="+14155551212", from_="+14155550000", body="hello")
OK = "ok"


@dataclass(frozen=True)
class Cell:
    fault: Fault
    times: int  # how many attempts in a row get the fault; then upstream answers well
    op: str  # create | fetch | list
    expect: str | tuple[int, int]  # "ok" or (status, code)
    attempts: int  # requests upstream saw
    creates: int = 0  # messages upstream created (create only)

    @property
    def id(self) -> str:
        extra = f"-{self.fault.status}" if self.fault.kind in ("status", "bare_status", "html") else ""
        ra = f"-ra{self.fault.retry_after}" if self.fault.retry_after is not None else ""
        proc = "-unprocessed" if self.fault.kind == "reset_before" and not self.fault.process else ""
        chunked = "-chunked" if not self.fault.declared else ""
        return f"{self.op}-{self.fault.kind}{extra}{ra}{proc}{chunked}-x{self.times}"


UNKNOWN_502 = (502, errors.OUTCOME_UNKNOWN)
UNKNOWN_504 = (504, errors.OUTCOME_UNKNOWN)
BAD_502 = (502, errors.UPSTREAM_BAD_RESPONSE)
TIMEOUT_504 = (504, errors.UPSTREAM_TIMEOUT)
UNAVAILABLE_503 = (503, errors.UPSTREAM_UNAVAILABLE)
RATE_429 = (429, errors.TOO_MANY_REQUESTS)

# A send is never retried once upstream may have acted on it.
CREATE_CELLS = [
    Cell(reset_before(), 1, "create", UNKNOWN_502, 1, 1),
    Cell(reset_before(process=False), 1, "create", UNKNOWN_502, 1, 0),
    Cell(reset_mid_body(), 1, "create", UNKNOWN_502, 1, 1),
    Cell(truncated_json(), 1, "create", UNKNOWN_502, 1, 1),
    Cell(non_json(), 1, "create", UNKNOWN_502, 1, 1),
    Cell(html_error(500), 1, "create", UNKNOWN_502, 1, 1),
    Cell(status(500), 1, "create", UNKNOWN_502, 1, 1),
    Cell(status(502), 1, "create", UNKNOWN_502, 1, 1),
    Cell(bare_status(504), 1, "create", UNKNOWN_504, 1, 1),
    Cell(too_large(4 * 1024 * 1024), 1, "create", UNKNOWN_502, 1, 1),
    Cell(hang(), 1, "create", UNKNOWN_504, 1, 1),
    Cell(hang_after_headers(), 1, "create", UNKNOWN_504, 1, 1),
    Cell(latency(0.1), 1, "create", OK, 1, 1),
    # Upstream said it did not process it: retried, within the budget.
    Cell(status(503), 1, "create", OK, 2, 1),
    Cell(status(503, retry_after="0"), 1, "create", OK, 2, 1),
    Cell(bare_status(503), 1, "create", OK, 2, 1),
    Cell(rate_limited(), 1, "create", OK, 2, 1),
    Cell(status(503), 3, "create", UNAVAILABLE_503, 3, 0),
    Cell(rate_limited(), 3, "create", RATE_429, 3, 0),
]

_GET_TRANSIENT = [
    reset_before(), reset_mid_body(), truncated_json(), non_json(), html_error(500),
    status(500), status(502), bare_status(504), status(503), rate_limited(), hang(),
    hang_after_headers(),
]
_GET_PERSISTENT = [ (reset_mid_body(), BAD_502), (truncated_json(), BAD_502),
    (non_json(), BAD_502), (html_error(502), BAD_502), (status(500), BAD_502),
    (bare_status(504), TIMEOUT_504), (status(503), UNAVAILABLE_503), (rate_limited(), RATE_429),
    (hang(), TIMEOUT_504),
]
GET_CELLS = [
    cell
    for op in ("fetch", "list")
    for cell in (
        [Cell(f, 1, op, OK, 2) for f in _GET_TRANSIENT]
        # Three attempts, three requests: the transport never repeats one by itself.
        + [Cell(f, 3, op, expect, 3) for f, expect in [(reset_before(), BAD_502), *_GET_PERSISTENT]]
        + [
            Cell(too_large(4 * 1024 * 1024), 1, op, BAD_502, 1),
            Cell(too_large(4 * 1024 * 1024, declared=False), 1, op, BAD_502, 1),
            Cell(latency(0.1), 1, op, OK, 1),
        ]
    )
]
FAULT_MATRIX = CREATE_CELLS + GET_CELLS


async def run_op(h: Harness, op: str, sid: str | None = None) -> object:
    if op == "create":
        return await h.messages.create(CREDS, ACCOUNT, SEND)
    if op == "fetch":
        assert sid is not None
        return await h.messages.fetch(CREDS, ACCOUNT, sid)
    return await h.messages.list(CREDS, ACCOUNT, ListQuery(page_size=10))


def seed(upstream: FaultyUpstream, body: str = "seeded") -> str:
    _, msg = upstream.store.create(
        ACCOUNT, MultiDict({"To": "+14155551212", "From": "+14155550000", "Body": body})
    )
    return str(msg["sid"])


@pytest.mark.parametrize("cell", FAULT_MATRIX, ids=lambda c: c.id)
async def test_fault_matrix(cell: Cell, harness: Harness) -> None:
    up = harness.upstream
    sid = seed(up) if cell.op != "create" else None
    before = up.store.creates
    up.enqueue(*[cell.fault] * cell.times, method="POST" if cell.op == "create" else "GET")
    t0 = time.monotonic()
    if cell.expect == OK:
        result = await run_op(harness, cell.op, sid)
        assert result is not None
    else:
        with pytest.raises(ApiError) as info:
            await run_op(harness, cell.op, sid)
        assert (info.value.status, info.value.code) == cell.expect
    elapsed = time.monotonic() - t0
    assert elapsed < FAST.budget + 0.5, "no call outlives its total budget"
    assert up.count() == cell.attempts
    assert up.store.creates - before == cell.creates
    assert up.pending() == 0 or cell.expect != OK


async def test_503_retry_after_one_second_then_the_send_passes(harness: Harness) -> None:
    up = harness.upstream
    up.enqueue(status(503, retry_after="1"), method="POST")
    t0 = time.monotonic()
    msg = await harness.messages.create(CREDS, ACCOUNT, SEND)
    assert time.monotonic() - t0 >= 1.0
    assert harness.sleeps == [1.0]
    assert up.count("POST") == 2
    assert up.store.creates == 1 and msg.sid in up.store.messages


async def test_retry_after_as_http_date_is_honoured(harness: Harness) -> None:
    from email.utils import formatdate

    harness.upstream.enqueue(rate_limited(formatdate(time.time() + 1, usegmt=True)), method="POST")
    await harness.messages.create(CREDS, ACCOUNT, SEND)
    assert len(harness.sleeps) == 1 and 0 <= harness.sleeps[0] <= 1.0
    assert harness.upstream.store.creates == 1


async def test_retry_after_beyond_the_bound_goes_to_the_client(harness: Harness) -> None:
    harness.upstream.enqueue(status(503, retry_after="30"), method="POST")
    t0 = time.monotonic()
    with pytest.raises(ApiError) as info:
        await harness.messages.create(CREDS, ACCOUNT, SEND)
    assert time.monotonic() - t0 < 0.5
    assert (info.value.status, info.value.code) == UNAVAILABLE_503
    assert info.value.headers["Retry-After"] == "30"
    assert harness.upstream.count() == 1 and harness.upstream.store.creates == 0


async def test_connection_refused_then_accepted_send_is_retried(
    faulty: FaultyUpstream, harness_factory: HarnessFactory
) -> None:
    await faulty.stop_listening()

    async def come_back(_: float) -> None:
        await faulty.start_listening()

    h = await harness_factory(faulty, on_sleep=come_back)
    msg = await h.messages.create(CREDS, ACCOUNT, SEND)
    assert len(h.sleeps) == 1  # one refused attempt, then the one that passed
    assert faulty.count("POST") == 1 and faulty.store.creates == 1
    assert msg.sid in faulty.store.messages


@pytest.mark.parametrize("op", ["create", "fetch", "list"])
async def test_connection_refused_throughout(
    op: str, faulty: FaultyUpstream, harness_factory: HarnessFactory
) -> None:
    h = await harness_factory(faulty, base_url=refused_url())
    t0 = time.monotonic()
    with pytest.raises(ApiError) as info:
        await run_op(h, op, "SM" + "1" * 32)
    assert (info.value.status, info.value.code) == UNAVAILABLE_503
    assert "not sent" in info.value.message
    assert len(h.sleeps) == FAST.retries
    assert time.monotonic() - t0 < FAST.budget


@pytest.mark.parametrize("op", ["create", "fetch"])
async def test_a_silent_upstream_never_holds_a_call_past_the_total_timeout(
    op: str, faulty: FaultyUpstream, harness_factory: HarnessFactory
) -> None:
    policy = replace(FAST, budget=0.8, read_timeout=None)
    h = await harness_factory(faulty, policy=policy)
    sid = seed(faulty)
    faulty.enqueue(hang(), hang(), hang())
    t0 = time.monotonic()
    with pytest.raises(ApiError) as info:
        await run_op(h, op, sid)
    elapsed = time.monotonic() - t0
    assert 0.8 <= elapsed < 1.2
    expected = UNKNOWN_504 if op == "create" else TIMEOUT_504
    assert (info.value.status, info.value.code) == expected
    assert faulty.count() == 1  # the one attempt used the whole budget


async def test_get_retries_stay_within_the_total_timeout(
    faulty: FaultyUpstream, harness_factory: HarnessFactory
) -> None:
    policy = replace(FAST, retries=10, budget=1.0, read_timeout=0.3, connect_timeout=0.1)
    h = await harness_factory(faulty, policy=policy)
    sid = seed(faulty)
    faulty.enqueue(*[hang()] * 11)
    t0 = time.monotonic()
    with pytest.raises(ApiError) as info:
        await h.messages.fetch(CREDS, ACCOUNT, sid)
    assert time.monotonic() - t0 < 1.2
    assert (info.value.status, info.value.code) == TIMEOUT_504
    assert 2 <= faulty.count() <= 3  # as many 0.3 s attempts as fit in 1 s


async def test_upstream_4xx_is_passed_through_not_retried(harness: Harness) -> None:
    with pytest.raises(ApiError) as info:
        await harness.messages.fetch(CREDS, ACCOUNT, "SM" + "f" * 32)
    assert (info.value.status, info.value.code) == (404, 20404)
    assert harness.upstream.count() == 1


async def test_no_descriptor_or_connection_leaks_after_every_fault(
    harness_factory: HarnessFactory,
) -> None:
    baseline = open_fds()
    async with FaultyUpstream() as up:
        h = await harness_factory(up)
        sid = seed(up)
        for fault in ALL_FAULTS:
            for op in ("create", "fetch"):
                up.enqueue(fault, fault, fault)
                try:
                    await run_op(h, op, sid)
                except ApiError:
                    pass
        during = open_fds()
        await h.client.close()
    await settle()
    # Pooled keep-alive connections (both ends) are all that may be open during the run.
    assert during - baseline <= 12
    assert open_fds() == baseline


async def test_outcome_unknown_is_logged_with_the_request_id_and_nothing_secret(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.upstream.enqueue(reset_before(), method="POST")
    token = current.set(Observation(request_id="req-4711"))
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.upstream"), pytest.raises(ApiError):
            await harness.messages.create(CREDS, ACCOUNT, replace(SEND, body="secret text"))
    finally:
        current.reset(token)
    records = [r for r in caplog.records if "OUTCOME UNKNOWN" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.ERROR
    line = records[0].getMessage()
    assert "request_id=req-4711" in line and "upstream_call=" in line
    assert CREDS.password not in caplog.text and "secret text" not in caplog.text


async def test_concurrent_sends_under_random_faults_are_never_duplicated_or_lost(
    harness: Harness,
) -> None:
    """300 sends at concurrency 50, a third of upstream requests faulted: every success is
    upstream exactly once, every definite failure is not there at all, every unknown at most
    once."""
    up = harness.upstream
    faults = [f for f in ALL_FAULTS if f.kind not in ("hang", "too_large")] + [
        too_large(512 * 1024)
    ]
    up.randomly(random.Random(11), 0.33, faults)
    gate = asyncio.Semaphore(50)

    async def send(i: int) -> tuple[str, str]:
        async with gate:
            try:
                await harness.messages.create(CREDS, ACCOUNT, replace(SEND, body=f"m{i}"))
                return f"m{i}", "ok"
            except ApiError as exc:
                return f"m{i}", "unknown" if exc.code == errors.OUTCOME_UNKNOWN else "failed"

    outcomes = await asyncio.gather(*(send(i) for i in range(300)))
    created = up.store.bodies
    assert max(created.values()) == 1, "no send reached upstream twice"
    for body, outcome in outcomes:
        if outcome == "ok":
            assert created[body] == 1
        elif outcome == "failed":
            assert created[body] == 0
    kinds = {o for _, o in outcomes}
    assert {"ok", "unknown"} <= kinds
