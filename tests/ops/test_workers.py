"""--workers N: several processes on one port (SO_REUSEPORT) sharing one embedded sandbox
hosted by the supervisor, metrics aggregated across workers, SIGTERM drains them all."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import aiohttp

from tests.ops.conftest import StartGateway
from tests.ops.test_metrics import value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_workers_share_port_and_metrics(start_gateway: StartGateway) -> None:
    metrics_port = _free_port()
    gw = await start_gateway(
        "--port", "0", "--workers", "2", "--sandbox", "--metrics-port", str(metrics_port),
        "--drain-timeout", "5",
    )
    await gw.wait_log("supervisor: 2 workers")
    # Both workers listen once each has logged; wait for the second.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while sum("gateway listening on" in line for line in gw.lines) < 2:
        assert loop.time() < deadline, gw.lines
        await asyncio.sleep(0.05)
    pids: set[int] = set()
    n = 30
    for _ in range(n):  # a new connection each time: the kernel spreads them over the workers
        async with aiohttp.ClientSession() as s, s.get(gw.url + "/healthz") as r:
            pids.add((await r.json())["pid"])
    assert pids == set(gw.worker_pids())
    sandbox_line = await gw.wait_log("embedded sandbox listening on")
    assert sum("embedded sandbox listening on" in line for line in gw.lines) == 1, sandbox_line
    async with aiohttp.ClientSession() as s, s.get(gw.url + "/readyz") as r:
        assert r.status == 200  # the workers reach the supervisor's sandbox

    key = {"dialect": "ops", "operation": "healthz", "status": "200", "twilio_code": ""}
    for url in (gw.url, f"http://127.0.0.1:{metrics_port}"):
        async with aiohttp.ClientSession() as s, s.get(url + "/metrics") as r:
            text = await r.text()
        assert value(text, "sms_gateway_requests_total", **key) == n  # summed over workers

    sigterm_at = time.monotonic()
    gw.signal()
    assert await asyncio.wait_for(gw.proc.wait(), 10) == 0
    assert time.monotonic() - sigterm_at < 5 + 1.5
    assert not any(_alive(pid) for pid in gw.worker_pids())
