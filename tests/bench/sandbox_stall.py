"""How a sandbox holding many pending status progressions answers sends: the stall measurement
behind docs/sandbox.md "Performance".

Run:  /work/venv/bin/python -m tests.bench.sandbox_stall                (about 1 minute)
      /work/venv/bin/python -m tests.bench.sandbox_stall --fill 20000 --sends 5000

First, in this process: a sandbox holding ``--fill`` messages, their progressions parked by the
manual clock (the store's own cost) and then pending on a one-day tick; how many objects the
cyclic garbage collector tracks and how long one full collection takes.

Then over HTTP: the sandbox as a subprocess (``python -m gateway sandbox`` from the checkout this
file is in, pinned to CPU 1) with a one-day tick, as tests/bench/bench_gateway.py starts it, so
every message sent stays "queued" with its progression pending. ``--sends`` sends timed one by
one over one keep-alive connection (aiohttp, this process pinned to CPU 0), on the fresh
sandbox and after each round of ``--fill`` sends over ``--connections`` connections. With one
connection a full collection delays one send, so the stalls show in the maximum and the count
of slow sends rather than in the percentiles, and only when a collection falls in a timed
round; so the sandbox also logs how long each of its full collections took (a ``gc.callbacks``
hook installed before ``gateway.cli.main``), and each row says how many there were since the
previous row and the longest.

To measure another version of the sandbox, run this file from a checkout of that version (e.g. a
``git worktree``, copying this file in) with ``PYTHONPATH`` set to that checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from gateway.sandbox.app import LIFECYCLE, SANDBOX, create_sandbox_app
from gateway.sandbox.outbound import CreateRequest
from tests.bench.procs import Proc, free_port, wait_http

ACCOUNT = "AC" + "5e" * 16
AUTH = "Basic " + base64.b64encode(f"{ACCOUNT}:benchtoken".encode()).decode()
SEND_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
FORM = "To=%2B14155551212&From=%2B14155550000&Body=Benchmark+message"
WARM_UP = 1000
STALL_MS = 20.0
CPU_CLIENT, CPU_SANDBOX = 0, 1
GC_MARK = "sandbox_stall full collection ms:"
# `python -c` this, then the sandbox's arguments: the sandbox, logging its full collections.
SANDBOX_LOGGING_COLLECTIONS = f"""
import gc, sys, time
started = [0.0]
def timed(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        took = (time.perf_counter() - started[0]) * 1000
        print("{GC_MARK}", round(took, 1), file=sys.stderr, flush=True)
gc.callbacks.append(timed)
from gateway.cli import main
sys.exit(main(sys.argv[1:]))
"""


async def fill(base_url: str, count: int, connections: int) -> float:
    """Send ``count`` messages over ``connections`` keep-alive connections; returns seconds."""
    started = time.perf_counter()
    async with session_for(base_url, connections) as session:

        async def worker(n: int) -> None:
            for _ in range(n):
                await send(session)

        share, extra = divmod(count, connections)
        await asyncio.gather(*(worker(share + (i < extra)) for i in range(connections)))
    return time.perf_counter() - started


async def latencies(base_url: str, count: int) -> list[float]:
    """Send ``count`` messages one after another over one keep-alive connection; the
    milliseconds each took, request written to response read."""
    took: list[float] = []
    async with session_for(base_url, 1) as session:
        for _ in range(count):
            started = time.perf_counter()
            await send(session)
            took.append((time.perf_counter() - started) * 1000)
    return took


def session_for(base_url: str, connections: int) -> aiohttp.ClientSession:
    headers = {"Authorization": AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    connector = aiohttp.TCPConnector(limit=connections)
    return aiohttp.ClientSession(base_url, headers=headers, connector=connector)


async def send(session: aiohttp.ClientSession) -> None:
    async with session.post(SEND_PATH, data=FORM) as resp:
        if resp.status != 201:
            sys.exit(f"send answered {resp.status}: {await resp.text()}")
        await resp.read()


async def full_collection(pending: int, *, manual: bool) -> tuple[int, int, float]:
    """In this process: a sandbox holding ``pending`` messages, each with its progression
    pending (``manual``: parked by the manual clock, the cheapest way a progression can wait).
    Returns (tasks, objects the collector tracks, median ms of a full collection)."""
    app = create_sandbox_app(tick=86400, manual=manual)
    request = CreateRequest(to="+14155551212", from_="+14155550000", body="Benchmark message")
    for _ in range(pending):
        app[SANDBOX].send(ACCOUNT, request)
    gc.collect()
    took = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect()
        took.append((time.perf_counter() - started) * 1000)
    tasks, tracked = len(asyncio.all_tasks()), len(gc.get_objects())
    await app[LIFECYCLE].close()
    return tasks, tracked, statistics.median(took)


class Collections:
    """The sandbox's full collections, read from its log as they come."""

    def __init__(self, log_path: Path) -> None:
        self._log_path = log_path
        self._seen = 0

    def since_last(self) -> str:
        lines = self._log_path.read_text(errors="replace").splitlines()
        took = [float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(GC_MARK)]
        new, self._seen = took[self._seen:], len(took)
        return f"{len(new)}, {max(new):.1f}" if new else "0"


def row(label: str, pending: int, took: list[float], collections: str) -> str:
    cuts = statistics.quantiles(took, n=100, method="inclusive")
    stalls = sum(t >= STALL_MS for t in took)
    return (f"| {label} | {pending} | {len(took)} | {cuts[49]:.2f} | {cuts[89]:.2f} "
            f"| {cuts[98]:.2f} | {max(took):.1f} | {stalls} | {collections} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fill", type=int, default=60000, help="messages sent per round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8, help="for the fill")
    parser.add_argument("--sends", type=int, default=30000, help="timed one by one per measure")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {CPU_CLIENT})

    print("| in this process: messages pending | parked by | tasks | objects tracked by gc "
          "| full collection ms |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for manual in (True, False):
        tasks, tracked, ms = asyncio.run(full_collection(args.fill, manual=manual))
        how = "manual clock" if manual else "one-day tick"
        print(f"| {args.fill} | {how} | {tasks} | {tracked} | {ms:.1f} |", flush=True)
    print()

    tmp = Path(tempfile.mkdtemp(prefix="sandbox-stall-"))
    port = free_port()
    sandbox = Proc("sandbox", [sys.executable, "-c", SANDBOX_LOGGING_COLLECTIONS, "sandbox",
                               "--host", "127.0.0.1", "--port", str(port),
                               "--sandbox-tick", "86400", "--log-format", "json"],
                   tmp, CPU_SANDBOX)
    collections = Collections(sandbox.log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_http(base_url + "/healthz", sandbox)
        asyncio.run(fill(base_url, WARM_UP, 1))
        collections.since_last()  # start-up's and warm-up's do not count
        pending = WARM_UP
        print(f"sandbox log in {sandbox.log_path}; a stall is a send taking >= {STALL_MS} ms\n")
        print("| measured after | messages pending | sends timed | p50 ms | p90 ms | p99 ms "
              "| max ms | stalls | sandbox full collections since the row before: count, "
              "longest ms |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        took = asyncio.run(latencies(base_url, args.sends))
        print(row("start", pending, took, collections.since_last()), flush=True)
        pending += len(took)
        for i in range(args.rounds):
            secs = asyncio.run(fill(base_url, args.fill, args.connections))
            pending += args.fill
            took = asyncio.run(latencies(base_url, args.sends))
            label = f"fill {i + 1}: {args.fill} sends at {args.fill / secs:.0f}/s"
            print(row(label, pending, took, collections.since_last()), flush=True)
            pending += len(took)
        print(f"\nsandbox RSS {sandbox.rss_mib():.0f} MiB, CPU {sandbox.cpu_seconds():.1f} s")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
