"""The soak: many mixed 2008 requests (send, fetch, list pages) at high concurrency through the
gateway, served as server.py serves it, to a faulty upstream injecting random faults. Shared by
the test (tests/reliability/test_soak.py) and the standalone runner (tests/bench/soak.py)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.config import Settings
from gateway.errors import OUTCOME_UNKNOWN
from gateway.limits import LimitedSite, handler_args
from tests.reliability.faulty_upstream import ALL_FAULTS, FaultyUpstream, too_large

ACCOUNT = "AC" + "5" * 32
AUTH = aiohttp.BasicAuth(ACCOUNT, "soak-token")
BASE = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
SETTINGS = Settings(
    upstream_timeout=2.0,
    upstream_read_timeout=0.5,
    upstream_connect_timeout=0.5,
    upstream_backoff_base=0.01,
    upstream_backoff_max=0.05,
    upstream_retry_after_max=0.5,
    upstream_max_response_bytes=1024 * 1024,
    total_mode="bounded",
    total_bound=2000,
)
# Sends spread over 100 recipients and lists filter by one of them, so that a list page costs
# upstream a bounded walk however long the soak runs.
NUMBERS = [f"415555{i:04d}" for i in range(100)]
# Everything but "hang" (each one holds a request for the whole budget: tested on its own).
FAULTS = [f for f in ALL_FAULTS if f.kind not in ("hang", "too_large")] + [too_large(2 << 20)]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class SoakResult:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    sends: dict[str, str] = field(default_factory=dict)  # body -> ok | failed | unknown
    upstream_requests: int = 0
    faults_injected: int = 0
    duplicates: int = 0
    losses: int = 0
    rss_start_kib: int = 0
    rss_end_kib: int = 0
    fds_start: int = 0
    fds_end: int = 0
    seconds: float = 0.0

    def table(self) -> str:
        outcomes = Counter(self.sends.values())
        rows = [
            ("requests", self.requests),
            ("statuses", dict(sorted(self.statuses.items()))),
            ("sends ok / failed / unknown",
             f"{outcomes['ok']} / {outcomes['failed']} / {outcomes['unknown']}"),
            ("upstream requests", self.upstream_requests),
            ("faults injected", self.faults_injected),
            ("duplicates", self.duplicates),
            ("losses", self.losses),
            ("RSS start / end (MiB)",
             f"{self.rss_start_kib / 1024:.1f} / {self.rss_end_kib / 1024:.1f}"),
            ("fds start / end", f"{self.fds_start} / {self.fds_end}"),
            ("seconds", f"{self.seconds:.1f}"),
        ]
        return "\n".join(f"| {name} | {value} |" for name, value in rows)


async def run_soak(
    requests: int, concurrency: int = 50, fault_rate: float = 0.1, seed: int = 1
) -> SoakResult:
    result = SoakResult(fds_start=open_fds(), rss_start_kib=rss_kib())
    rng = random.Random(seed)
    started = time.monotonic()
    async with FaultyUpstream() as upstream:
        app = create_app(SETTINGS, upstream.url)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                               **handler_args(SETTINGS))
        await runner.setup()
        try:
            site = LimitedSite(runner, "127.0.0.1", 0, SETTINGS)
            await site.start()
            assert isinstance(site._server, asyncio.Server)
            port = site._server.sockets[0].getsockname()[1]
            upstream.randomly(random.Random(seed + 1), fault_rate, FAULTS)
            await _drive(f"http://127.0.0.1:{port}", requests, concurrency, rng, result)
        finally:
            await runner.cleanup()
        result.upstream_requests = len(upstream.requests)
        result.faults_injected = sum(1 for r in upstream.requests if r.fault != "pass")
        created = upstream.store.bodies
        result.duplicates = sum(1 for n in created.values() if n > 1)
        result.losses = sum(
            1 for body, outcome in result.sends.items()
            if (outcome == "ok" and created[body] != 1)
            or (outcome == "failed" and created[body] != 0)
        )
    await asyncio.sleep(0.05)  # closed transports finish closing on a later loop turn
    result.fds_end = open_fds()
    result.rss_end_kib = rss_kib()
    result.seconds = time.monotonic() - started
    return result


async def _drive(
    url: str, requests: int, concurrency: int, rng: random.Random, result: SoakResult
) -> None:
    sids: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(url, auth=AUTH, timeout=timeout) as client:

        async def one(i: int) -> None:
            pick = rng.random()
            if pick < 0.4 or not sids:
                body = f"soak {i}"
                async with client.post(BASE + ".json", data={
                    "To": rng.choice(NUMBERS), "From": "4155550000", "Body": body,
                }) as resp:
                    data = await resp.read()
                    result.statuses[resp.status] += 1
                if resp.status == 201:
                    result.sends[body] = "ok"
                    sids.append(json.loads(data)["TwilioResponse"]["SMSMessage"]["Sid"])
                else:
                    code = json.loads(data)["TwilioResponse"]["RestException"].get("Code")
                    unknown = code == str(OUTCOME_UNKNOWN)
                    result.sends[body] = "unknown" if unknown else "failed"
            elif pick < 0.7:
                async with client.get(f"{BASE}/{rng.choice(sids)}") as resp:
                    await resp.read()
                    result.statuses[resp.status] += 1
            else:
                page, num = rng.randint(0, 3), rng.choice([10, 50])
                params = {"Page": page, "num": num, "To": rng.choice(NUMBERS)}
                async with client.get(BASE, params=params) as resp:
                    await resp.read()
                    result.statuses[resp.status] += 1
            result.requests += 1

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
