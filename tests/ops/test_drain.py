"""Graceful shutdown of a real gateway process: readiness fails at once on SIGTERM, in-flight
requests finish, new connections are refused, the process exits within the drain time."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.ops.conftest import ACCOUNT, AUTH, FakeUpstream, StartGateway

LIST = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"


async def _get(url: str, **kw: object) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as s, s.get(url, **kw) as r:  # type: ignore[arg-type]
        return r.status, await r.json(content_type=None)


async def _refused(url: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            async with aiohttp.ClientSession() as s, s.get(url) as r:
                await r.read()
        except aiohttp.ClientConnectorError:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_sigterm_drains_in_flight_request(
    fake_upstream: FakeUpstream, start_gateway: StartGateway
) -> None:
    fake_upstream.delay = 2.5
    gw = await start_gateway(
        "--port", "0", "--upstream-url", fake_upstream.url, "--total-mode", "off",
        "--drain-delay", "1", "--drain-timeout", "8", "--readiness-cache", "0",
    )
    status, body = await _get(gw.url + "/readyz")
    assert (status, body["status"]) == (200, "ready")

    async def slow_list() -> tuple[int, str, float]:
        async with aiohttp.ClientSession() as s, s.get(gw.url + LIST, headers=AUTH) as r:
            return r.status, await r.text(), time.monotonic()

    in_flight = asyncio.create_task(slow_list())
    await asyncio.wait_for(fake_upstream.arrived.wait(), 5)  # the request is upstream now
    sigterm_at = time.monotonic()
    gw.signal()

    # Not ready once the gateway has taken the signal (its log says so; a request sent at the
    # same instant may be answered before the signal handler runs), while still accepting
    # during the drain delay.
    await gw.wait_log("draining: not ready", timeout=5)
    status, body = await _get(gw.url + "/readyz")
    assert status == 503
    assert body["checks"]["draining"] is True  # type: ignore[index]
    assert (await _get(gw.url + "/healthz"))[0] == 200

    # After the delay the listening socket is closed: new connections are refused ...
    assert await _refused(gw.url + "/healthz", within=3.0)
    assert not in_flight.done()
    # ... while the in-flight request still completes normally.
    status_code, text, finished_at = await asyncio.wait_for(in_flight, 8)
    assert status_code == 200
    assert "<SMSMessages" in text
    assert finished_at > sigterm_at + 1.0

    rc = await asyncio.wait_for(gw.proc.wait(), 8)
    assert rc == 0
    assert time.monotonic() - sigterm_at < 8
    await gw.wait_log("drained; exiting")


@pytest.mark.parametrize("drain_timeout", [2.0])
async def test_drain_timeout_bounds_exit_even_with_stuck_requests(
    fake_upstream: FakeUpstream, start_gateway: StartGateway, drain_timeout: float
) -> None:
    fake_upstream.delay = 60  # never answers within the drain
    gw = await start_gateway(
        "--port", "0", "--upstream-url", fake_upstream.url, "--total-mode", "off",
        "--drain-timeout", str(drain_timeout),
    )

    async def stuck() -> int:
        async with aiohttp.ClientSession() as s, s.get(gw.url + LIST, headers=AUTH) as r:
            await r.read()
            return r.status

    task = asyncio.create_task(stuck())
    await asyncio.wait_for(fake_upstream.arrived.wait(), 5)
    sigterm_at = time.monotonic()
    gw.signal()
    rc = await asyncio.wait_for(gw.proc.wait(), drain_timeout + 5)
    elapsed = time.monotonic() - sigterm_at
    assert rc == 0
    assert elapsed < drain_timeout + 1.0, (elapsed, "\n".join(gw.lines))
    # The stuck request was cut off, not left hanging.
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(task, 5)
