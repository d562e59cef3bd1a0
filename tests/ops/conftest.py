"""Fixtures for the operations tests: a fake (optionally slow) current-API upstream and a real
gateway subprocess whose port is read from its own log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.callbacks.conftest import legacy  # noqa: F401 -- fixture
from tests.support.auth import basic_auth
from tests.support.sandbox_gateway import make_gateway, sandbox  # noqa: F401 -- fixtures

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "tok-5ecret-0f-the-legacy-app"
AUTH = basic_auth(ACCOUNT, TOKEN)
ROOT = Path(__file__).resolve().parents[2]


def message_json(sid: str = "SM" + "a" * 32, to: str = "+14155551212") -> dict[str, object]:
    return {
        "sid": sid, "account_sid": ACCOUNT, "to": to, "from": "+14155550000",
        "body": "hello", "status": "queued", "direction": "outbound-api",
        "date_created": "Mon, 16 Aug 2010 03:45:01 +0000",
        "date_updated": "Mon, 16 Aug 2010 03:45:01 +0000", "date_sent": None,
        "price": None, "price_unit": "USD", "api_version": "2010-04-01",
        "num_segments": "1", "error_code": None, "error_message": None,
    }


@dataclass
class FakeUpstream:
    """The current Messages API, answering after ``delay`` seconds; records what it saw."""

    delay: float = 0.0
    seen: list[web.Request] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        base = "/2010-04-01/Accounts/{sid}"
        app.router.add_get(base + "/Messages.json", self._list)
        app.router.add_post(base + "/Messages.json", self._create)
        return app

    async def _record(self, request: web.Request) -> None:
        self.seen.append(request)
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)

    async def _list(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({
            "messages": [message_json()], "next_page_uri": None, "page": 0,
            "page_size": 50, "first_page_uri": request.path_qs, "previous_page_uri": None,
            "uri": request.path_qs, "end": 0, "start": 0,
        })

    async def _create(self, request: web.Request) -> web.Response:
        await request.post()
        await self._record(request)
        return web.json_response(message_json(), status=201)


@pytest.fixture
async def fake_upstream() -> AsyncIterator[FakeUpstream]:
    up = FakeUpstream()
    server = TestServer(up.app(), host="127.0.0.1")
    await server.start_server()
    up.url = str(server.make_url("")).rstrip("/")
    yield up
    await server.close()


@dataclass
class GatewayProcess:
    proc: asyncio.subprocess.Process
    port: int = 0
    lines: list[str] = field(default_factory=list)
    scheme: str = "http"  # https with --tls-cert
    _reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def log_records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    async def wait_log(self, needle: str, timeout: float = 15.0) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for line in self.lines:
                if needle in line:
                    return line
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.02)
        raise AssertionError(f"no log line with {needle!r}; got:\n" + "\n".join(self.lines))

    def worker_pids(self) -> list[int]:
        for line in self.lines:
            if "supervisor:" in line and "(pids " in line:
                inner = line.split("(pids ")[1].split(")")[0]
                return [int(p) for p in inner.split(", ")]
        return []

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)


StartGateway = Callable[..., Awaitable[GatewayProcess]]


@pytest.fixture
async def start_gateway() -> AsyncIterator[StartGateway]:
    """Start ``python -m gateway serve ARGS`` (JSON logs), wait until it listens."""
    started: list[GatewayProcess] = []

    async def start(*args: str, env: dict[str, str] | None = None) -> GatewayProcess:
        full_env = {**os.environ, "GATEWAY_LOG_FORMAT": "json", **(env or {})}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", *args,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env=full_env, cwd=str(ROOT),
        )
        gw = GatewayProcess(proc)
        started.append(gw)

        async def read() -> None:
            assert proc.stderr is not None
            async for raw in proc.stderr:
                gw.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

        gw._reader = asyncio.create_task(read())
        line = await gw.wait_log("gateway listening on ")
        found = re.search(r"gateway listening on (https?)://127\.0\.0\.1:(\d+)", line)
        assert found, line
        gw.scheme, gw.port = found.group(1), int(found.group(2))
        return gw

    yield start
    for gw in started:
        if gw.proc.returncode is None:
            gw.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(gw.proc.wait(), 10)
            except TimeoutError:
                gw.proc.kill()
                await gw.proc.wait()
        for pid in gw.worker_pids():  # a supervisor killed above leaves no orphan behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if gw._reader is not None:
            await gw._reader
