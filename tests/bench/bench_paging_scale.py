"""Paging at Twilio's scale (issue 18): what legacy pages cost on large accounts behind a slow
upstream, with the paging index.

Run:  python -m tests.bench.bench_paging_scale [--sizes 10000,250000,1000000] [--latencies 0,0.15]
                                               [--upstream sandbox|fake|both] [--raw-reads 8]

The gateway's ``Paginator`` runs with default settings behind the Messages adapter, each legacy
request inside the request budget (``--upstream-timeout``) as the HTTP middleware opens it,
against an upstream over HTTP on localhost, with a per-request latency standing in for the
round trip to api.twilio.com. Two upstreams (``--upstream``, default both, one after the other;
the tables name each in the "account @ latency" label):

- ``sandbox``: the embedded sandbox, bulk-seeded (``seed_account``): the full emulator. It is
  one single-threaded Python process that renders every message of a page on each read (~12 ms
  for a page of 949), so concurrent reads are served one after the other: 8 reads at once take
  150 ms + 8 x 12 ms, about 32 reads/s for 8 plain clients at 150 ms. The gateway's count reads
  up to 8 pages of 949 at once, so its figures here are bound by the emulator.
- ``fake``: ``tests/bench/fake_messages_api.py``, the current API's list endpoint only, seeded
  the same way, each message rendered once at start (the sandbox's own renderer), a page only
  joined from bytes (well under 1 ms), the latency an ``asyncio.sleep``. It answers concurrent
  reads in parallel as the real API does (about 50 reads/s for 8 clients at 150 ms, the ceiling
  being 8 / 0.15 s = 53), so its figures show what the gateway itself does. It filters by dates
  only (what the gateway's count sends: none, ``DateSent<``, ``DateSent>``) and has no message
  lifecycle; its PageTokens are Twilio's (``PA`` + the sid of the page's last message), shorter
  than the sandbox's, so the store holds a little less per list.

``--raw-reads N`` measures the upstreams alone instead: reads/s of N plain aiohttp clients each
walking the list with PageSize 949 at once.

The upstream runs in its own process (``multiprocessing``, spawned afresh for each
configuration on a free port of 127.0.0.1), so this process does only the gateway's work and
wall times measure the gateway, not the upstream's rendering of its pages. The two processes
still share the machine's cores (2 on the reference machine), so wall times remain upper bounds
when the upstream is busy; request counts are exact. The benchmark sets the upstream's latency
and adds arrivals through bench-only routes (``POST /_bench/latency``, ``POST /_bench/seed``)
that the child adds to the app; they are not upstream requests of the gateway and are not
measured. For each account size, latency and upstream:

1. page 0, a middle page and the last page (size 50): cold (a fresh index: the first request
   any replica makes for the list) and warm (the index complete): the page's own upstream
   requests, wall time, and what the total was (exact, provisional, or a 503 "not reachable
   yet" when a count could not reach a deep page within the budget);
2. the time from the first request until the total is exact (the background count);
3. a client polling page 0 every 10 s while 1 message/s arrives: upstream requests per minute
   (simulated minute: 6 polls, 10 arrivals before each), plus the re-verification's share
   (one recount per ``total_ttl``) amortised per minute;
4. the store's payload per indexed list (keys and values, as Redis would hold them).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import multiprocessing
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Self
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

from gateway.config import Settings
from gateway.cursor_cache import list_prefix
from gateway.model import ApiError, Credentials, ListFilter, ListQuery, Page
from gateway.paging import Paginator
from gateway.sandbox.app import STORE, create_sandbox_app
from gateway.sandbox.bulk import LATENCY, seed_account
from gateway.state.memory import MemoryStore
from gateway.upstream.deadline import request_deadline
from gateway.upstream.http import UpstreamClient
from gateway.upstream.messages import MessagesUpstream
from tests.bench import fake_messages_api
from tests.bench.bench_paging import table

ACCOUNT = "AC" + "d" * 32
CREDS = Credentials(ACCOUNT, "sandbox-token")
SIZE = 50


UPSTREAMS = ("sandbox", "fake")
START_TIMEOUT = 600.0  # seconds for the child to import, seed and listen
STOP_TIMEOUT = 5.0  # seconds for each step of stopping it (stop, SIGTERM, SIGKILL)
RAW_PAGE_SIZE = 949  # what the gateway's count reads at once
RAW_SECONDS = 10.0


# --- The upstreams' apps (built in the child) ----------------------------------------------


async def _bench_latency(request: web.Request) -> web.Response:
    """``POST /_bench/latency?seconds=0.15``: the sandbox's per-request latency from now on."""
    try:
        seconds = float(request.query["seconds"])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(reason="seconds=<float> is required") from None
    request.app[LATENCY].seconds = seconds
    return web.json_response({"latency": seconds})


async def _bench_seed(request: web.Request) -> web.Response:
    """``POST /_bench/seed?n=10``: ``n`` new messages arrive on the bench account now."""
    try:
        n = int(request.query["n"])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(reason="n=<int> is required") from None
    store = request.app[STORE]
    store.seed(ACCOUNT, n, start=store._now())
    return web.json_response({"seeded": n})


def sandbox_app(messages: int) -> web.Application:
    """The embedded sandbox, bulk-seeded, with the bench-only controls."""
    config = dataclasses.replace(Settings(), sandbox_tick=0)
    app = create_sandbox_app(config, manual=True, max_messages=max(messages, 1) + 10_000)
    store = app[STORE]
    seed_account(store, ACCOUNT, messages, end=store._now() - timedelta(hours=1))
    # Bench-only controls. The sandbox's latency middleware delays them too (it skips only
    # /healthz); the parent does not count them: they are not the gateway's upstream requests.
    app.router.add_post("/_bench/latency", _bench_latency)
    app.router.add_post("/_bench/seed", _bench_seed)
    return app


def fake_app(messages: int) -> web.Application:
    """The fake Messages API (tests/bench/fake_messages_api.py), seeded the same way; its own
    bench-only controls are not delayed."""
    return fake_messages_api.create_app(ACCOUNT, messages)


# A picklable (module-level) function of the message count, run in the spawned child.
AppFactory = Callable[[int], web.Application]
APPS: dict[str, AppFactory] = {"sandbox": sandbox_app, "fake": fake_app}


# --- The upstream's process (the child) ----------------------------------------------------


async def _child_main(make_app: AppFactory, messages: int, conn: Connection) -> None:
    app = make_app(messages)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        _host, port = runner.addresses[0][:2]
        conn.send(int(port))
        # Serve until the parent says stop, or until it goes away (EOF on the pipe).
        try:
            await asyncio.to_thread(conn.recv)
        except (EOFError, OSError):
            pass
    finally:
        await runner.cleanup()


def _serve_child(make_app: AppFactory, messages: int, conn: Connection) -> None:
    """The child process's entry point: build the app (seeded), serve it on a free port of
    127.0.0.1 and send that port to the parent through ``conn``."""
    # Ctrl-C reaches the whole process group: the parent stops the child, not the signal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_child_main(make_app, messages, conn))
    finally:
        conn.close()


# --- The parent's handle on it -------------------------------------------------------------


class UpstreamControl:
    """The upstream child's name, base URL and the bench-only controls (on a session of their
    own, apart from the gateway's upstream connections)."""

    def __init__(self, name: str, base: str) -> None:
        self.name = name
        self.base = base
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, path: str, **params: str) -> None:
        assert self._session is not None
        async with self._session.post(self.base + path, params=params) as resp:
            if resp.status != 200:
                raise RuntimeError(f"{self.name} {path}: {resp.status} {await resp.text()}")

    async def set_latency(self, seconds: float) -> None:
        await self._post("/_bench/latency", seconds=repr(float(seconds)))

    async def seed(self, n: int) -> None:
        """``n`` messages arrive now (the sandbox makes the control call wait the latency)."""
        await self._post("/_bench/seed", n=str(n))


def _stop_child(proc: BaseProcess, conn: Connection) -> None:
    """Ask the child to stop (a message on the pipe); then SIGTERM, then SIGKILL."""
    try:
        conn.send("stop")
    except (OSError, ValueError):
        pass  # already gone, or the pipe already closed
    conn.close()
    proc.join(STOP_TIMEOUT)
    if proc.is_alive():
        proc.terminate()
        proc.join(STOP_TIMEOUT)
    if proc.is_alive():
        proc.kill()
        proc.join()


@asynccontextmanager
async def seeded_upstream(name: str, messages: int) -> AsyncIterator[UpstreamControl]:
    """Upstream ``name`` ("sandbox" or "fake") with ``messages`` on the bench account, in a
    spawned child process that is stopped on the way out (also on errors and Ctrl-C)."""
    ctx = multiprocessing.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    proc = ctx.Process(
        target=_serve_child, args=(APPS[name], messages, child_conn), name=f"bench-{name}",
        daemon=True,
    )
    try:
        proc.start()
        child_conn.close()  # the child holds its own copy: EOF here when the child dies
        deadline = time.monotonic() + START_TIMEOUT
        while not conn.poll():
            if not proc.is_alive():
                raise RuntimeError(f"the {name} process exited ({proc.exitcode}) before serving")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {name} process did not start serving in time")
            await asyncio.sleep(0.05)
        try:
            port = conn.recv()
        except EOFError:
            raise RuntimeError(
                f"the {name} process exited ({proc.exitcode}) before serving"
            ) from None
        async with UpstreamControl(name, f"http://127.0.0.1:{port}") as upstream:
            yield upstream
    finally:
        child_conn.close()
        if proc.pid is not None:  # started
            _stop_child(proc, conn)
        else:
            conn.close()


class Gateway:
    """A fresh Paginator (a fresh index in its own store) before the upstream."""

    def __init__(self, base: str, settings: Settings) -> None:
        self.settings = settings
        self.store = MemoryStore(1_000_000)
        self.paginator = Paginator(settings, store=self.store)
        self._client = UpstreamClient(base)
        self.adapter = MessagesUpstream(self._client, self.paginator)

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.paginator.close()
        await self._client.__aexit__(None, None, None)

    async def page(self, number: int) -> tuple[Page | ApiError, float]:
        t0 = time.perf_counter()
        try:
            with request_deadline(self.settings.upstream_timeout):
                page: Page | ApiError = await self.adapter.list(
                    CREDS, ACCOUNT, ListQuery(ListFilter(), number, SIZE)
                )
        except ApiError as err:
            page = err
        return page, time.perf_counter() - t0

    def count_done(self) -> bool:
        return not self.paginator.counter.busy

    def payload_bytes(self) -> int:
        prefix = list_prefix((ACCOUNT, ListFilter().cache_key()))
        data = self.store._data
        held = 0
        for key, (value, _expiry) in list(data.items()):
            if not key.startswith(prefix):
                continue
            held += len(key)
            if isinstance(value, bytes):
                held += len(value)
            elif isinstance(value, dict):
                held += sum(len(k) + len(v) for k, v in value.items())
            elif isinstance(value, str):
                held += len(value)
        return held


def describe(result: Page | ApiError) -> tuple[str, str]:
    if isinstance(result, ApiError):
        return "-", f"{result.status} ({result.message[:28]}...)"
    kind = "exact" if result.total_is_exact else "provisional"
    return str(result.upstream_requests), f"{kind} {result.total}"


async def one_config(
    upstream_name: str, messages: int, latency: float
) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    settings = Settings()
    pages = {"first": 0, "middle": messages // SIZE // 2, "last": max(messages - 1, 0) // SIZE}
    rows: list[tuple[str, ...]] = []
    async with seeded_upstream(upstream_name, messages) as upstream:
        base = upstream.base
        await upstream.set_latency(latency)
        label = f"{messages:,} @ {latency * 1000:.0f} ms ({upstream_name})"
        # Cold deep pages, each on a fresh index (their counts are stopped afterwards).
        cold: dict[str, tuple[Page | ApiError, float]] = {}
        for name in ("middle", "last"):
            async with Gateway(base, settings) as gw:
                cold[name] = await gw.page(pages[name])
        # Cold page 0 starts the count that the rest of this configuration measures.
        async with Gateway(base, settings) as gw:
            started = time.perf_counter()
            cold["first"] = await gw.page(0)
            while not gw.count_done():
                await asyncio.sleep(0.05)
            exact_after = time.perf_counter() - started
            for name, number in pages.items():
                warm = await gw.page(number)
                c_req, c_total = describe(cold[name][0])
                w_req, w_total = describe(warm[0])
                rows.append((
                    label, f"{name} (Page={number})", c_req, f"{cold[name][1] * 1000:.0f}",
                    c_total, w_req, f"{warm[1] * 1000:.0f}", w_total,
                ))
            # Polling: 6 polls a minute, 10 arrivals before each.
            reads_before = sum(gw.paginator.stats.reads.values())
            for _ in range(6):
                await upstream.seed(10)
                await gw.page(0)
            polled = sum(gw.paginator.stats.reads.values()) - reads_before
            verify = messages / 1000 / (settings.total_ttl / 60)
            payload = gw.payload_bytes()
    summary = (
        label, f"{exact_after:.1f} s", str(polled), f"{verify:.2f}",
        f"{payload / 1024:.1f} KiB", f"{payload / max(messages, 1) * 1000:.0f} B",
    )
    return rows, summary


def _next_token(body: bytes) -> str | None:
    """The PageToken of a list answer's ``next_page_uri``, without decoding its messages (the
    envelope ends with ``next_page_uri`` and ``page``)."""
    at = body.rfind(b'"next_page_uri"')
    if at < 0:
        raise RuntimeError(f"not a list answer: {body[:200]!r}")
    uri = json.loads(b"{" + body[at:])["next_page_uri"]
    tokens = parse_qs(urlsplit(uri).query).get("PageToken") if uri else None
    return tokens[0] if tokens else None


async def raw_reads(upstream_name: str, messages: int, latency: float, walkers: int) -> str:
    """Reads per second of ``walkers`` plain aiohttp clients, each walking the list from its
    head with PageSize 949 (again from the head at its end) for ``RAW_SECONDS``: what the
    upstream itself serves, without the gateway. A walker finds its next PageToken without
    decoding the page's messages, so the clients' own work stays small."""
    async with seeded_upstream(upstream_name, messages) as upstream:
        await upstream.set_latency(latency)
        url = f"{upstream.base}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        headers = {"Authorization": "Basic " + base64.b64encode(
            f"{CREDS.username}:{CREDS.password}".encode()).decode()}
        reads = 0
        async with aiohttp.ClientSession(headers=headers) as session:

            async def walk(stop: float) -> None:
                nonlocal reads
                token: str | None = None
                while time.monotonic() < stop:
                    params = {"PageSize": str(RAW_PAGE_SIZE)}
                    if token is not None:
                        params["PageToken"] = token
                    async with session.get(url, params=params) as resp:
                        body = await resp.read()
                        if resp.status != 200:
                            raise RuntimeError(f"{upstream_name}: {resp.status} {body[:200]!r}")
                    reads += 1
                    token = _next_token(body)

            started = time.monotonic()
            await asyncio.gather(*(walk(started + RAW_SECONDS) for _ in range(walkers)))
            elapsed = time.monotonic() - started
    return f"{reads / elapsed:.1f}"


async def main(
    sizes: Sequence[int], latencies: Sequence[float], upstreams: Sequence[str], raw: int
) -> None:
    print(f"Python {sys.version.split()[0]}, legacy page size {SIZE}, default settings\n")
    if raw:
        raw_rows = [
            (f"{messages:,} @ {latency * 1000:.0f} ms ({name})",
             await raw_reads(name, messages, latency, raw))
            for messages in sizes for latency in latencies for name in upstreams
        ]
        print(table(
            f"Raw upstream reads: {raw} clients walking at once, PageSize {RAW_PAGE_SIZE}, "
            f"{RAW_SECONDS:.0f} s",
            ("account @ latency", "reads/s"), raw_rows,
        ))
        return
    page_rows: list[tuple[str, ...]] = []
    summaries: list[tuple[str, ...]] = []
    for messages in sizes:
        for latency in latencies:
            for name in upstreams:
                rows, summary = await one_config(name, messages, latency)
                page_rows += rows
                summaries.append(summary)
                print(table("so far", ("account @ latency", "time to exact", "poll req/min",
                                       "verify req/min", "store per list", "per 1000 msgs"),
                            summaries), flush=True)
    print(table(
        "Per legacy page (req = the page's own upstream requests; ms = wall time)",
        ("account @ latency", "page", "cold req", "cold ms", "cold total", "warm req",
         "warm ms", "warm total"),
        page_rows,
    ))
    print(table(
        "Counting, polling and the store",
        ("account @ latency", "time to exact", "poll req/min", "verify req/min",
         "store per list", "per 1000 msgs"),
        summaries,
    ))


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,250000,1000000")
    parser.add_argument("--latencies", default="0,0.15")
    parser.add_argument("--upstream", choices=(*UPSTREAMS, "both"), default="both",
                        help="what the gateway reads from (default: both, one after the other)")
    parser.add_argument("--raw-reads", type=int, default=0, metavar="CLIENTS",
                        help="instead of the gateway: reads/s of CLIENTS plain clients walking "
                             f"the upstream at once (PageSize {RAW_PAGE_SIZE})")
    return parser.parse_args()


if __name__ == "__main__":
    args = _args()
    asyncio.run(main(
        [int(s) for s in args.sizes.split(",")],
        [float(x) for x in args.latencies.split(",")],
        UPSTREAMS if args.upstream == "both" else (args.upstream,),
        args.raw_reads,
    ))
