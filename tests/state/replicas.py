"""Several real gateway processes in front of one sandbox and one Redis, reached as a legacy
client and as Twilio reach them: legacy sends, fetches and lists, and status callbacks signed
with twilio's own RequestValidator for the public URL the replicas share."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

from gateway.sandbox.app import STORE, create_sandbox_app
from tests.callbacks.conftest import ACCOUNT, KEY, TOKEN, LegacyApp
from tests.ops.conftest import GatewayProcess, StartGateway
from tests.support.auth import basic_auth

# The load balancer's address in front of the replicas, as Twilio sees it.
PUBLIC_URL = "https://bridge.example.test"
SENDER = "+15005550006"
AUTH = basic_auth(ACCOUNT, TOKEN)
LEGACY_BASE = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"


@dataclass
class Bench:
    sandbox: web.Application
    sandbox_url: str
    legacy: LegacyApp
    http: aiohttp.ClientSession


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    # A manual clock: messages stay queued, so only the test's own events reach the replicas.
    sandbox = create_sandbox_app(manual=True)
    sandbox_server = TestServer(sandbox, host="127.0.0.1")
    await sandbox_server.start_server()
    legacy = LegacyApp()
    legacy_app = web.Application()
    legacy_app.router.add_route("*", "/{tail:.*}", legacy.handle)
    legacy_server = TestServer(legacy_app, host="127.0.0.1")
    await legacy_server.start_server()
    legacy.base = str(legacy_server.make_url("")).rstrip("/")
    try:
        async with aiohttp.ClientSession() as http:
            yield Bench(sandbox, str(sandbox_server.make_url("")).rstrip("/"), legacy, http)
    finally:
        await legacy_server.close()
        await sandbox_server.close()


def prefix() -> str:
    # Each test its own keys on a shared server.
    return f"t{uuid.uuid4().hex[:12]}:"


async def start_replica(
    start_gateway: StartGateway, bench: Bench, state_url: str, *args: str
) -> GatewayProcess:
    return await start_gateway(
        "--port", "0", "--upstream-url", bench.sandbox_url, "--public-url", PUBLIC_URL,
        "--state-url", state_url, "--callback-timeout", "5",
        "--callback-allow-private-networks", *args,  # the legacy app listens on 127.0.0.1
        env={"GATEWAY_CALLBACK_SIGNING_KEY": KEY, "GATEWAY_ACCOUNTS": f"{ACCOUNT}={TOKEN}"},
    )


async def legacy_send(bench: Bench, replica: GatewayProcess, to: str = "+14155550100") -> str:
    """A 2008 send through ``replica`` with a StatusCallback; the message's sid."""
    async with bench.http.post(
        f"{replica.url}{LEGACY_BASE}.json",
        data={"From": SENDER, "To": to, "Body": "Hi", "StatusCallback": bench.legacy.url("/cb")},
        headers=AUTH,
    ) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["TwilioResponse"]["SMSMessage"]["Sid"])


def callback_url(bench: Bench, sid: str) -> str:
    """The StatusCallback the gateway gave upstream for ``sid`` (its public relay URL)."""
    message = bench.sandbox[STORE].get(ACCOUNT, sid)
    assert message is not None and message.status_callback, sid
    assert message.status_callback.startswith(PUBLIC_URL)
    return message.status_callback


def status_event(sid: str, status: str) -> list[tuple[str, str]]:
    return [
        ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status),
        ("AccountSid", ACCOUNT), ("From", SENDER), ("To", "+14155550100"),
        ("ApiVersion", "2010-04-01"), ("ErrorCode", ""),
    ]


async def twilio_event(
    bench: Bench, replica: GatewayProcess, url: str, params: Sequence[tuple[str, str]],
    *, fresh_connection: bool = False,
) -> int:
    """POST ``params`` to ``replica`` as Twilio posts to the public ``url``; the status."""
    signature = RequestValidator(TOKEN).compute_signature(url, dict(params))
    headers = {
        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded",
    }
    target = replica.url + url[len(PUBLIC_URL):]
    if fresh_connection:
        async with aiohttp.ClientSession() as s, s.post(
            target, data=urlencode(params), headers=headers
        ) as resp:
            return resp.status
    async with bench.http.post(target, data=urlencode(params), headers=headers) as resp:
        return resp.status


def legacy_callbacks(bench: Bench) -> dict[str, int]:
    """How many legacy callbacks each message got (all validly signed, all 'sent')."""
    counts: dict[str, int] = {}
    for seen in bench.legacy.seen:
        assert seen.valid, seen
        fields = dict(seen.params)
        assert fields["SmsStatus"] == "sent", fields
        counts[fields["SmsSid"]] = counts.get(fields["SmsSid"], 0) + 1
    return counts


async def legacy_reads(bench: Bench, replica: GatewayProcess, sid: str) -> list[int]:
    """A fetch and two list pages (the second deep enough to need a cursor): the statuses."""
    statuses = []
    for path in (f"{LEGACY_BASE}/{sid}.json", f"{LEGACY_BASE}.json?PageSize=2",
                 f"{LEGACY_BASE}.json?PageSize=2&Page=3"):
        async with bench.http.get(replica.url + path, headers=AUTH) as resp:
            await resp.read()
            statuses.append(resp.status)
    return statuses


def metric(text: str, name: str, **labels: str) -> float:
    """The sample of ``name`` with exactly these labels (0 when absent)."""
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if found == labels:
            return float(match.group(2))
    return 0.0


async def scrape(bench: Bench, replica: GatewayProcess) -> str:
    async with bench.http.get(replica.url + "/metrics") as resp:
        return await resp.text()


async def readiness(bench: Bench, replica: GatewayProcess) -> tuple[int, dict[str, object]]:
    async with bench.http.get(replica.url + "/readyz") as resp:
        return resp.status, dict((await resp.json())["checks"])
