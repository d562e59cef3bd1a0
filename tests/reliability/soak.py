"""The soak: many mixed legacy requests of both dialects (2008-08-01 and the 2010-04-01
/SMS/Messages resource: send, fetch, list pages) at high concurrency through the gateway, served
as server.py serves it, with the callback relay on. Upstream is the faulty upstream injecting
random faults on the API path and proxying everything else to the real sandbox, whose signed
status callbacks come back to the gateway's relay, which forwards one legacy callback per
message to a small legacy app. Shared by the test (tests/reliability/test_soak.py) and the
standalone runner (tests/bench/soak.py).

    client --> gateway --> faulty upstream (random faults) --> sandbox
                  ^                                               |
                  +------- signed status callbacks (no faults) ---+
                  |
                  +--> legacy app (one callback per message, checked)
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.client_limits import LimitedSite, handler_args
from gateway.config import Settings
from gateway.errors import OUTCOME_UNKNOWN
from gateway.sandbox.app import LIFECYCLE, STORE, create_sandbox_app
from gateway.signing import validate_signature
from tests.reliability.faulty_upstream import ALL_FAULTS, FaultyUpstream, too_large
from tests.support.auth import basic_auth

ACCOUNT = "AC" + "5" * 32
TOKEN = "soak-token"
AUTH = basic_auth(ACCOUNT, TOKEN)
DIALECTS = ("v2008", "sms2010")
BASES = {
    "v2008": f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages",
    "sms2010": f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages",
}
# What each dialect's legacy StatusCallback receives, in order (docs/callbacks.md).
CALLBACK_PARAMS = {
    "v2008": ["SmsSid", "SmsStatus"],
    "sms2010": ["AccountSid", "ApiVersion", "From", "SmsSid", "SmsStatus", "To"],
}
SANDBOX_TICK = 0.05  # seconds per status step: callbacks arrive while the traffic runs
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
    callback_signing_key="soak-callback-signing-key-0123",
    accounts=f"{ACCOUNT}={TOKEN}",
    log_level="ERROR",
    callback_allow_private_networks=True,  # the legacy app listens on 127.0.0.1
)
# Sends spread over 100 recipients and lists filter by one of them, so that a list page costs
# upstream a bounded walk however long the soak runs.
NUMBERS = [f"415555{i:04d}" for i in range(100)]
# Every tenth send goes to the sandbox's number whose messages fail (sending -> failed).
FAILING = "+15005550011"
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


@dataclass(slots=True)
class Send:
    dialect: str
    expected: str  # the legacy status its callback must carry: sent | failed
    outcome: str = ""  # ok | failed | unknown, as the client was told
    sid: str = ""  # when the client saw it succeed


@dataclass(slots=True)
class Callback:
    dialect: str  # from the legacy URL the send named
    params: list[tuple[str, str]]
    signed: bool  # X-Twilio-Signature valid for the legacy URL, with the account's token


@dataclass
class SoakResult:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_dialect: Counter[str] = field(default_factory=Counter)
    sends: dict[str, Send] = field(default_factory=dict)  # by Body
    upstream_requests: int = 0
    faults_injected: int = 0
    duplicates: int = 0
    losses: int = 0
    callbacks: int = 0
    callback_duplicates: int = 0  # a message with more than one legacy callback
    callback_losses: int = 0  # a send the client saw succeed without its callback
    callback_wrong: int = 0  # wrong status, dialect, parameters or signature
    callbacks_for_unknown: int = 0  # callbacks of sends reported unknown (each at most one)
    callbacks_stray: int = 0  # callbacks of messages upstream does not hold
    rss_start_kib: int = 0
    rss_end_kib: int = 0
    fds_start: int = 0
    fds_end: int = 0
    seconds: float = 0.0

    def table(self) -> str:
        outcomes = Counter(s.outcome for s in self.sends.values())
        rows = [
            ("requests", self.requests),
            ("by dialect", dict(sorted(self.by_dialect.items()))),
            ("statuses", dict(sorted(self.statuses.items()))),
            ("sends ok / failed / unknown",
             f"{outcomes['ok']} / {outcomes['failed']} / {outcomes['unknown']}"),
            ("upstream requests", self.upstream_requests),
            ("faults injected", self.faults_injected),
            ("duplicates", self.duplicates),
            ("losses", self.losses),
            ("legacy callbacks (of them for unknown sends)",
             f"{self.callbacks} ({self.callbacks_for_unknown})"),
            ("callback duplicates / losses / wrong / stray",
             (f"{self.callback_duplicates} / {self.callback_losses} / "
              f"{self.callback_wrong} / {self.callbacks_stray}")),
            ("RSS start / end (MiB)",
             f"{self.rss_start_kib / 1024:.1f} / {self.rss_end_kib / 1024:.1f}"),
            ("fds start / end", f"{self.fds_start} / {self.fds_end}"),
            ("seconds", f"{self.seconds:.1f}"),
        ]
        return "\n".join(f"| {name} | {value} |" for name, value in rows)


class LegacyApp:
    """The legacy application behind the relay: records every callback it receives."""

    def __init__(self) -> None:
        self.url = ""
        self.received: list[Callback] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/status/{dialect}", self._status)
        return app

    async def _status(self, request: web.Request) -> web.Response:
        params = [(k, str(v)) for k, v in (await request.post()).items()]
        signed = validate_signature(
            TOKEN, str(request.url), params, request.headers.get("X-Twilio-Signature")
        )
        self.received.append(Callback(request.match_info["dialect"], params, signed))
        return web.Response(text="")


async def _serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    assert isinstance(site._server, asyncio.Server)
    return runner, site._server.sockets[0].getsockname()[1]


async def run_soak(
    requests: int, concurrency: int = 50, fault_rate: float = 0.1, seed: int = 1
) -> SoakResult:
    result = SoakResult(fds_start=open_fds(), rss_start_kib=rss_kib())
    rng = random.Random(seed)
    started = time.monotonic()
    sandbox = create_sandbox_app(tick=SANDBOX_TICK)
    sandbox_runner, sandbox_port = await _serve(sandbox)
    legacy = LegacyApp()
    legacy_runner, legacy_port = await _serve(legacy.app())
    legacy.url = f"http://127.0.0.1:{legacy_port}"
    runners = [sandbox_runner, legacy_runner]
    try:
        async with FaultyUpstream(target=f"http://127.0.0.1:{sandbox_port}") as upstream:
            gateway_url = await _start_gateway(upstream.url, runners)
            upstream.randomly(random.Random(seed + 1), fault_rate, FAULTS)
            await _drive(gateway_url, requests, concurrency, rng, legacy.url, result)
            # Every message final, every callback sent through the relay to the legacy app.
            await sandbox[LIFECYCLE].settle()
            result.upstream_requests = len(upstream.requests)
            result.faults_injected = sum(1 for r in upstream.requests if r.fault != "pass")
        held = sandbox[STORE].all(ACCOUNT)
        _account(result, {m.body: m.sid for m in held}, Counter(m.body for m in held),
                 legacy.received)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
    await asyncio.sleep(0.05)  # closed transports finish closing on a later loop turn
    result.fds_end = open_fds()
    result.rss_end_kib = rss_kib()
    result.seconds = time.monotonic() - started
    return result


async def _start_gateway(upstream_url: str, runners: list[web.AppRunner]) -> str:
    """The gateway with its limits, on an ephemeral port that its own public URL names (the
    sandbox calls the relay there). A bound, never listening SO_REUSEPORT socket reserves the
    port until the gateway listens on it."""
    with socket.socket() as reserve:
        reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reserve.bind(("127.0.0.1", 0))
        port = reserve.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        settings = dataclasses.replace(SETTINGS, public_url=url)
        runner = web.AppRunner(create_app(settings, upstream_url), access_log=None,
                               shutdown_timeout=1.0, **handler_args(settings))
        await runner.setup()
        runners.append(runner)
        site = LimitedSite(runner, "127.0.0.1", port, settings, reuse_port=True)
        await site.start()
    return url


def _account(
    result: SoakResult, sid_of: dict[str, str], created: Counter[str], received: list[Callback]
) -> None:
    """Count upstream creates and legacy callbacks against what each client was told."""
    result.duplicates = sum(1 for n in created.values() if n > 1)
    result.losses = sum(
        1 for body, send in result.sends.items()
        if (send.outcome == "ok" and created[body] != 1)
        or (send.outcome == "failed" and created[body] != 0)
    )
    by_sid: dict[str, list[Callback]] = {}
    for cb in received:
        by_sid.setdefault(dict(cb.params).get("SmsSid", ""), []).append(cb)
    result.callbacks = len(received)
    result.callback_duplicates = sum(1 for cbs in by_sid.values() if len(cbs) > 1)
    sids = set(sid_of.values())
    result.callbacks_stray = sum(len(cbs) for sid, cbs in by_sid.items() if sid not in sids)
    for body, send in result.sends.items():
        if send.outcome == "unknown" and body in sid_of:
            result.callbacks_for_unknown += len(by_sid.get(sid_of[body], []))
        if send.outcome != "ok":
            continue
        cbs = by_sid.get(send.sid, [])
        if not cbs:
            result.callback_losses += 1
            continue
        cb = cbs[0]
        if not (cb.dialect == send.dialect and cb.signed
                and [k for k, _ in cb.params] == CALLBACK_PARAMS[send.dialect]
                and dict(cb.params)["SmsStatus"] == send.expected):
            result.callback_wrong += 1


def _error_code(dialect: str, data: bytes) -> int | None:
    doc = json.loads(data)
    if dialect == "v2008":
        code = doc["TwilioResponse"]["RestException"].get("Code")
    else:
        code = doc.get("code")
    return int(code) if code not in (None, "") else None


async def _drive(
    url: str, requests: int, concurrency: int, rng: random.Random, legacy_url: str,
    result: SoakResult,
) -> None:
    sids: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(url, headers=AUTH, timeout=timeout) as client:

        async def send(i: int, dialect: str) -> None:
            body = f"soak {i}"
            failing = rng.random() < 0.1
            result.sends[body] = send = Send(dialect, "failed" if failing else "sent")
            async with client.post(BASES[dialect] + ".json", data={
                "To": FAILING if failing else rng.choice(NUMBERS), "From": "4155550000",
                "Body": body, "StatusCallback": f"{legacy_url}/status/{dialect}",
            }) as resp:
                data = await resp.read()
                result.statuses[resp.status] += 1
            if resp.status == 201:
                doc = json.loads(data)
                message = doc["TwilioResponse"]["SMSMessage"] if dialect == "v2008" else doc
                send.sid = message["Sid" if dialect == "v2008" else "sid"]
                send.outcome = "ok"
                sids.append(send.sid)
            else:
                unknown = _error_code(dialect, data) == OUTCOME_UNKNOWN
                send.outcome = "unknown" if unknown else "failed"

        async def read(dialect: str, path: str, params: dict[str, str] | None = None) -> None:
            async with client.get(path, params=params) as resp:
                await resp.read()
                result.statuses[resp.status] += 1

        async def one(i: int) -> None:
            dialect = rng.choice(DIALECTS)
            result.by_dialect[dialect] += 1
            pick = rng.random()
            base = BASES[dialect]
            if pick < 0.4 or not sids:
                await send(i, dialect)
            elif pick < 0.7:
                await read(dialect, f"{base}/{rng.choice(sids)}.json")
            else:
                size = "PageSize" if dialect == "sms2010" else "num"
                params = {"Page": str(rng.randint(0, 3)), size: str(rng.choice([10, 50])),
                          "To": rng.choice(NUMBERS)}
                await read(dialect, base + ".json", params)
            result.requests += 1

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
