"""What the shared state store costs: ``memory://`` against ``redis://`` in one run.

Run:  python -m tests.bench.bench_state                   (about a minute)
      python -m tests.bench.bench_state --quick           (fewer requests, shorter load)
      python -m tests.bench.bench_state --instructions    (adds callgrind counts: minutes)

Separate processes: a ``redis-server`` (tests/support/redis_server.py: a free port, nothing
persisted), the sandbox (``sms-gateway sandbox`` with a one-day tick, so it spends nothing on
progressions), and gateways (``sms-gateway serve``), one per store URL, then one per worker
count. A legacy app (an aiohttp server in this process) receives the relayed callbacks.

Per request, for each store, on one keep-alive connection after warming up:

- Redis commands per request: the INFO commandstats total before and after (the INFO calls
  themselves taken out). A command run alone is one round trip; the relay's steps are single
  commands or Lua scripts (one round trip each), so on these paths commands = round trips.
- CPU per request: the gateway process's utime + stime (/proc/<pid>/stat) over the requests.

Operations: a warm 2008 list page (the same page again), a 2008 fetch, a status callback's
first deciding event (relayed to the legacy app) and its repeat on the same process.

Throughput: 2008 fetches with ``--connections`` concurrent keep-alive connections for
``--seconds`` from this process, against ``--workers 1`` and ``--workers 2`` (both on
redis://). On a 2-core machine the load generator, the sandbox and the workers share the
cores, so this shows what a second worker buys there, not the ceiling of either.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.callbacks.tokens import STATUS
from gateway.callbacks.wrap import relay_url
from tests.bench.procs import Proc, free_port, wait_http
from tests.support.redis_server import RedisServer, require_redis_server

PY = sys.executable
ACCOUNT = "AC" + "4d" * 16
TOKEN = "benchtoken"
AUTH = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
KEY = "bench-callback-signing-key-0123456789"
PUBLIC_URL = "https://bridge.example.test"
BASE = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
SEEDED = 120

Op = Callable[[int], Awaitable[int]]


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` in nanoseconds (/proc/<pid>/task/*/schedstat): finer
    than utime + stime, which count in clock ticks (10 ms)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total


class Monitor:
    """``redis-cli MONITOR`` into a file while a measurement runs; round trips counted from it:
    every command a client sent, a MULTI..EXEC block as one, a script's own commands (marked
    ``lua``) not at all."""

    def __init__(self, redis: RedisServer, path: Path) -> None:
        self.path = path
        self._out = path.open("wb")
        self.proc = subprocess.Popen(
            ["redis-cli", "-p", str(redis.port), "MONITOR"], stdout=self._out,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)

    def stop(self) -> tuple[int, int]:
        """(round trips, commands) seen."""
        time.sleep(0.3)
        self.proc.terminate()
        self.proc.wait(5)
        self._out.close()
        trips = commands = 0
        in_multi: set[str] = set()
        for line in self.path.read_text(errors="replace").splitlines():
            match = re.match(r'^[\d.]+ \[\d+ ([^\]]+)\] "(\w+)"', line)
            if not match:
                continue
            client, command = match.group(1), match.group(2).upper()
            commands += 1
            if client == "lua":
                continue
            if command == "MULTI":
                in_multi.add(client)
                trips += 1
            elif command == "EXEC":
                in_multi.discard(client)
            elif client not in in_multi:
                trips += 1
        return trips, commands


async def seed(sandbox_url: str) -> list[str]:
    url = f"{sandbox_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as s:
        sids = []
        for i in range(SEEDED):
            form = {"To": "+14155551212", "From": "+14155550000", "Body": f"m{i}"}
            async with s.post(url, data=form) as resp:
                resp.raise_for_status()
                sids.append(str((await resp.json())["sid"]))
    return sids


def start_gateway(tmp: Path, name: str, sandbox_url: str, *args: str) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(name, [
        PY, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--upstream-url", sandbox_url, "--log-format", "json", "--public-url", PUBLIC_URL,
        "--callback-allow-private-networks",  # the legacy app listens on 127.0.0.1
        *args,
    ], tmp, None, env={
        "GATEWAY_CALLBACK_SIGNING_KEY": KEY, "GATEWAY_ACCOUNTS": f"{ACCOUNT}={TOKEN}",
    })
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc)
    return proc, url


async def per_request(
    proc: Proc, redis: RedisServer, n: int, one: Op, tmp: Path
) -> tuple[float, float, float]:
    """(Redis round trips, Redis commands, CPU microseconds) per request over ``n`` requests
    of ``one`` (called with 0..n-1, after warm-up calls with -1..-5)."""
    for i in range(1, 6):
        await one(-i)
    monitor = Monitor(redis, tmp / "monitor.log")
    cpu = cpu_ns(proc.pid)
    for i in range(n):
        status = await one(i)
        assert status < 300, status
    cpu_used = cpu_ns(proc.pid) - cpu
    trips, commands = monitor.stop()
    return trips / n, commands / n, cpu_used / n / 1e3


@dataclass
class Client:
    """One keep-alive connection to one gateway, as a legacy app and as Twilio."""

    session: aiohttp.ClientSession
    url: str
    legacy_url: str

    async def get(self, path: str) -> int:
        async with self.session.get(self.url + path) as resp:
            await resp.read()
            return resp.status

    async def event(self, sid: str, status: str) -> int:
        target = relay_url(PUBLIC_URL, KEY, STATUS, self.legacy_url, ACCOUNT, "v2008")
        params = {
            "MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status,
            "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01",
        }
        sig = RequestValidator(TOKEN).compute_signature(target, params)
        async with self.session.post(
            self.url + target[len(PUBLIC_URL):], data=urlencode(params),
            headers={"X-Twilio-Signature": sig,
                     "Content-Type": "application/x-www-form-urlencoded"},
        ) as resp:
            await resp.read()
            return resp.status


def operations(c: Client, sids: list[str], tag: str) -> list[tuple[str, Op]]:
    def sid(i: int) -> str:
        return f"SM{tag}{i + 10:031x}"

    return [
        ("warm list page (2008, Page=1)", lambda i: c.get(f"{BASE}?PageSize=50&Page=1")),
        ("fetch (2008)", lambda i: c.get(f"{BASE}/{sids[i % len(sids)]}")),
        ("callback, first deciding event", lambda i: c.event(sid(i), "sent")),
        ("callback, repeat on the same process", lambda i: c.event(sid(i), "delivered")),
    ]


async def costs(
    tmp: Path, redis: RedisServer, sandbox_url: str, sids: list[str], legacy_url: str, n: int
) -> list[list[str]]:
    rows: list[list[str]] = []
    for store, label, tag in (("memory://", "memory://", "a"), (redis.url, "redis://", "b")):
        proc, url = start_gateway(tmp, f"gw-{tag}", sandbox_url, "--state-url", store)
        try:
            async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as session:
                client = Client(session, url, legacy_url)
                for name, op in operations(client, sids, tag):
                    trips, commands, cpu_us = await per_request(proc, redis, n, op, tmp)
                    rows.append([name, label, f"{trips:.2f}", f"{commands:.2f}", f"{cpu_us:.0f}"])
        finally:
            proc.stop()
    return rows


def _callgrind(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True,
                   capture_output=True, timeout=60)


def _dump_total(path: Path) -> int:
    # Either line may come first, and one of them may read 0 (as icount.py reads them).
    return max(
        (int(line.split()[1]) for line in path.read_text(errors="replace").splitlines()
         if line.startswith(("summary:", "totals:"))),
        default=0,
    )


async def instructions(
    tmp: Path, redis: RedisServer, sandbox_url: str, sids: list[str], legacy_url: str, n: int
) -> list[list[str]]:
    """Instructions per request under valgrind's callgrind (as tests/bench/icount.py counts
    them): counting switched on for exactly the measured requests, one dump per operation."""
    rows: list[list[str]] = []
    for store, label, tag in (("memory://", "memory://", "c"), (redis.url, "redis://", "d")):
        port = free_port()
        out = tmp / f"callgrind-{tag}.out"
        proc = Proc(f"callgrind-{tag}", [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            PY, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--upstream-url", sandbox_url, "--log-format", "json", "--public-url", PUBLIC_URL,
        "--callback-allow-private-networks",  # the legacy app listens on 127.0.0.1
            "--state-url", store,
        ], tmp, None, env={
            "GATEWAY_CALLBACK_SIGNING_KEY": KEY, "GATEWAY_ACCOUNTS": f"{ACCOUNT}={TOKEN}",
        })
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(url + "/healthz", proc, timeout=240)
            async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as session:
                client = Client(session, url, legacy_url)
                for name, op in operations(client, sids, tag):
                    for i in range(1, 6):
                        await op(-i)
                    before = set(tmp.glob(out.name + "*"))
                    _callgrind(proc.pid, "-z")
                    _callgrind(proc.pid, "-i", "on")
                    for i in range(n):
                        await op(i)
                    _callgrind(proc.pid, "-i", "off")
                    _callgrind(proc.pid, "-d")
                    (dump,) = set(tmp.glob(out.name + "*")) - before
                    rows.append([name, label, f"{_dump_total(dump) / n:,.0f}"])
        finally:
            proc.stop()
    return rows


async def fetch_load(url: str, sids: list[str], connections: int, seconds: float) -> float:
    """Requests per second of 2008 fetches over ``connections`` keep-alive connections."""
    stop = time.monotonic() + seconds
    done = 0

    async def client(k: int) -> None:
        nonlocal done
        async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as s:
            i = k
            while time.monotonic() < stop:
                async with s.get(f"{url}{BASE}/{sids[i % len(sids)]}") as resp:
                    await resp.read()
                    assert resp.status == 200
                done += 1
                i += connections

    started = time.monotonic()
    await asyncio.gather(*(client(k) for k in range(connections)))
    return done / (time.monotonic() - started)


async def throughput(
    tmp: Path, redis: RedisServer, sandbox_url: str, sids: list[str], connections: int,
    seconds: float,
) -> list[list[str]]:
    rows = []
    for round_no, workers in enumerate((1, 2, 1, 2)):
        proc, url = start_gateway(
            tmp, f"gw-w{workers}-{round_no}", sandbox_url, "--state-url", redis.url,
            "--workers", str(workers),
        )
        try:
            deadline = time.monotonic() + 20
            while proc.log_path.read_text().count("gateway listening on") < workers:
                assert time.monotonic() < deadline, proc.log_path.read_text()
                await asyncio.sleep(0.1)
            rps = await fetch_load(url, sids, connections, seconds)
            rows.append([str(round_no // 2 + 1), str(workers), f"{rps:.0f}"])
        finally:
            proc.stop()
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per request under callgrind (minutes)")
    args = parser.parse_args(argv)
    n = 100 if args.quick else 400
    seconds = 2.0 if args.quick else args.seconds
    binary = require_redis_server()
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp_name:
        tmp = Path(tmp_name)
        redis = RedisServer(binary, tmp)
        redis.start()
        sb_port = free_port()
        sandbox = Proc("sandbox", [
            PY, "-m", "gateway", "sandbox", "--host", "127.0.0.1", "--port", str(sb_port),
            "--sandbox-tick", "86400", "--log-format", "json",
        ], tmp, None)
        sandbox_url = f"http://127.0.0.1:{sb_port}"
        legacy = web.Application()

        async def ok(_: web.Request) -> web.Response:
            return web.Response(text="")

        legacy.router.add_post("/cb", ok)
        runner = web.AppRunner(legacy, access_log=None)
        await runner.setup()
        legacy_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", legacy_port).start()
        try:
            wait_http(sandbox_url + "/healthz", sandbox)
            sids = await seed(sandbox_url)
            rows = await costs(
                tmp, redis, sandbox_url, sids, f"http://127.0.0.1:{legacy_port}/cb", n
            )
            tput = await throughput(tmp, redis, sandbox_url, sids, args.connections, seconds)
            icounts = await instructions(
                tmp, redis, sandbox_url, sids, f"http://127.0.0.1:{legacy_port}/cb", 100
            ) if args.instructions else []
        finally:
            await runner.cleanup()
            sandbox.stop()
            redis.stop()
    print(f"Per request ({n} requests each, one connection, after 5 warm-up requests)\n")
    print(table(
        ["operation", "store", "Redis round trips", "Redis commands", "gateway CPU us"], rows
    ))
    print(f"\nThroughput: 2008 fetches, {args.connections} connections, {seconds:g} s, "
          "redis://\n")
    print(table(["round", "workers", "req/s"], tput))
    if icounts:
        print("\nInstructions per request (callgrind, 100 sequential requests)\n")
        print(table(["operation", "store", "instructions"], icounts))


if __name__ == "__main__":
    asyncio.run(main())
