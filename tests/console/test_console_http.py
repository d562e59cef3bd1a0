"""The console over HTTP, after real legacy traffic through a gateway in front of the sandbox:
access (404 without a token, 401 without or with a wrong one), what the ledger and the report
show, nothing secret in any answer, the inject form's cross-site protection, sunset headers,
metrics and the operations port."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.callbacks.wrap import inbound_webhook_url
from gateway.console import features as feat
from gateway.console.install import mount_on_ops_port
from gateway.keys import ANSWER_HOOKS, CONSOLE
from gateway.observability.metrics import METRICS, create_metrics_app, render
from gateway.sandbox.app import LIFECYCLE
from gateway.state.base import StoreUnavailable
from gateway.state.memory import MemoryStore
from tests.callbacks.conftest import LegacyApp
from tests.console.conftest import (
    ACCOUNT,
    BODY,
    CONSOLE_AUTH,
    CONSOLE_TOKEN,
    OTHER_ACCOUNT,
    OTHER_TOKEN,
    PHP_AGENT,
    TOKEN,
    World,
    start_world,
    traffic,
)
from tests.support.auth import basic_auth

SERVER = Callable[..., Awaitable[TestServer]]


async def test_without_a_token_the_console_is_not_there(aiohttp_server: SERVER) -> None:
    world, server = await start_world(aiohttp_server, console_token="")
    try:
        for path in ("/console/", "/console/api/ledger", "/console/sandbox"):
            assert (await world.console(path)).status == 404
    finally:
        await world.http.close()
        await server.close()


async def test_the_console_needs_its_token(world: World) -> None:
    for headers in ({}, basic_auth("ops", "wrong-token"), basic_auth("ops", CONSOLE_TOKEN[:-1]),
                    {"Authorization": "Bearer " + CONSOLE_TOKEN}):
        for path in ("/console/", "/console/api/ledger", f"/console/accounts/{ACCOUNT}"):
            resp = await world.console(path, headers=headers)
            assert resp.status == 401, (path, headers)
            assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    resp = await world.console("/console/", headers=basic_auth("anyone", CONSOLE_TOKEN))
    assert resp.status == 200
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"


async def test_ledger_and_report_after_real_traffic(world: World) -> None:
    await traffic(world)
    resp = await world.console("/console/api/ledger")
    assert resp.status == 200
    ledger = {a["account_sid"]: a for a in (await resp.json())["accounts"]}
    assert set(ledger) == {ACCOUNT, OTHER_ACCOUNT}
    one, two = ledger[ACCOUNT], ledger[OTHER_ACCOUNT]
    assert one["dialects"] == ["sms2010"] and two["dialects"] == ["v2008"]
    assert [c["client"] for c in one["clients"]] == ["twilio-python/5.6"]
    assert [c["client"] for c in two["clients"]] == ["twilio-php/2.0"]
    assert one["requests_last_week"] == 4 and two["requests_last_week"] == 3
    assert one["features"][feat.PAGE_SIZE_OVER_50] == 2
    assert one["features"][feat.PAGE_FOLLOW] == 1
    assert one["features"][feat.PAGE_JUMP] == 1
    assert one["features"][feat.DATE_SENT_FILTER] == 1
    assert two["features"][feat.NON_E164] == 1  # the refused send never got parsed that far
    assert two["features"][feat.BODY_OVER_160] == 1
    assert two["formats"] == ["csv", "xml"]

    resp = await world.console(f"/console/api/accounts/{OTHER_ACCOUNT}/report.json")
    report = await resp.json()
    items = {i["feature"]: i for i in report["items"]}
    assert items[feat.BODY_OVER_160]["share"] == round(1 / 3, 4)
    assert items["format_csv"]["clients"] == ["twilio-php/2.0"]
    assert "21605" in items[feat.BODY_OVER_160]["change"]
    resp = await world.console(f"/console/api/accounts/{OTHER_ACCOUNT}/report.csv")
    assert resp.headers["Content-Type"].startswith("text/csv")
    text = await resp.text()
    assert f"{OTHER_ACCOUNT},body_over_160_refused,Bodies over 160 refused,1,0.3333" in text

    page = await (await world.console("/console/")).text()
    for expected in (ACCOUNT, OTHER_ACCOUNT, "sms2010", "v2008", "twilio-php/2.0",
                     "Page=N jumps (1)", "<svg"):
        assert expected in page
    page = await (await world.console(f"/console/accounts/{ACCOUNT}")).text()
    assert "PageToken" in page and "twilio-python/5.6" in page
    assert (await world.console(f"/console/accounts/{'AC' + 'f' * 32}")).status == 404
    assert (await world.console("/console/accounts/..%2Fetc")).status == 404


async def test_no_secrets_bodies_or_numbers_in_console_answers(world: World) -> None:
    await traffic(world)
    await world.sandbox[LIFECYCLE].settle()
    paths = ["/console/", f"/console/accounts/{ACCOUNT}", f"/console/accounts/{OTHER_ACCOUNT}",
             "/console/api/ledger", f"/console/api/accounts/{ACCOUNT}",
             f"/console/api/accounts/{OTHER_ACCOUNT}/report.json",
             f"/console/api/accounts/{OTHER_ACCOUNT}/report.csv"]
    for path in paths:
        text = await (await world.console(path)).text()
        for secret in (TOKEN, OTHER_TOKEN, CONSOLE_TOKEN, BODY, "8675309", "5550006"):
            assert secret not in text, (path, secret)
    # The sandbox's own view shows its test messages' bodies, but still no token or number.
    for path in ("/console/sandbox", "/console/api/sandbox/messages"):
        text = await (await world.console(path)).text()
        assert BODY in text
        for secret in (TOKEN, OTHER_TOKEN, CONSOLE_TOKEN, "8675309", "5550006"):
            assert secret not in text, (path, secret)
        assert re.search(r"\+1415\*\*\*5309", text)


async def test_inject_form_is_protected_and_reaches_the_legacy_app(
    world: World, legacy: LegacyApp
) -> None:
    number = "+15005550006"
    hook = inbound_webhook_url(world.settings, ACCOUNT, legacy.url("/sms"), "POST")
    await world.add_number(number, hook)
    legacy.replies = [(200, "<Response><Sms>Got it</Sms></Response>")]
    page = await world.console("/console/sandbox")
    cookie = page.cookies["console_csrf"]
    assert cookie["samesite"] == "Strict" and cookie["httponly"]
    html = await page.text()
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert csrf
    form = {"AccountSid": ACCOUNT, "From": "+14158675309", "To": number, "Body": "Hello?"}
    url = world.url + "/console/sandbox/inject"
    # (aiohttp's client keeps no cookies of IP-address hosts: the test sends it itself)
    jar = {"Cookie": f"console_csrf={cookie.value}"}
    own = {**CONSOLE_AUTH, **jar, "Origin": world.url}
    token = csrf.group(1)
    refused = [
        (form, own),  # no token
        ({**form, "csrf_token": "0" * 64}, own),  # a wrong token
        ({**form, "csrf_token": token}, {**own, "Cookie": "console_csrf=" + "1" * 32}),
        ({**form, "csrf_token": token}, {**own, "Origin": "http://evil.test"}),
        ({**form, "csrf_token": token}, {**own, "Origin": "null"}),
        ({**form, "csrf_token": token}, {**CONSOLE_AUTH, "Origin": world.url}),  # no cookie
    ]
    for data, headers in refused:
        resp = await world.http.post(url, data=data, headers=headers, allow_redirects=False)
        assert resp.status == 403
    assert legacy.seen == []
    resp = await world.http.post(url, data={**form, "csrf_token": token}, headers=own,
                                 allow_redirects=False)
    assert resp.status == 303, await resp.text()
    assert "injected=SM" in resp.headers["Location"]
    assert [s.params for s in legacy.seen if ("Body", "Hello?") in s.params]
    assert legacy.seen[0].valid  # re-signed for the legacy app by the gateway
    await world.flush()
    ledger = await (await world.console("/console/api/ledger")).json()
    one = next(a for a in ledger["accounts"] if a["account_sid"] == ACCOUNT)
    assert one["features"][feat.SMS_TWIML] == 1
    assert "inbound" in one["dialects"]


async def test_sunset_headers_on_legacy_answers(aiohttp_server: SERVER) -> None:
    world, server = await start_world(aiohttp_server, sunset="2027-06-30",
                                      deprecation_date="2026-01-01",
                                      sunset_link="https://example.test/migrate")
    try:
        resp = await world.legacy("GET", f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages",
                                  ACCOUNT, TOKEN, PHP_AGENT)
        assert resp.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
        assert resp.headers["Deprecation"] == "@1767225600"
        assert '<https://example.test/migrate>; rel="sunset"' in resp.headers["Link"]
        assert 'rel="deprecation"' in resp.headers["Link"]
        resp = await world.http.get(world.url + "/healthz")
        assert "Sunset" not in resp.headers
        body = await (await world.console("/console/api/ledger")).json()
        assert body["sunset_days_left"] == (date(2027, 6, 30) - datetime.now(UTC).date()).days
        page = await (await world.console("/console/")).text()
        assert f"Sunset in {body['sunset_days_left']} days" in page
    finally:
        await world.http.close()
        await server.close()


async def test_metrics_count_legacy_features_and_clients(world: World) -> None:
    await traffic(world)
    await world.flush()
    text = render(world.gateway[METRICS]).decode()
    assert ('sms_gateway_legacy_feature_requests_total{dialect="sms2010",'
            'feature="page_size_over_50"} 2.0') in text
    assert 'feature="body_over_160_refused"} 1.0' in text
    assert "sms_gateway_legacy_clients_seen_total 2.0" in text
    # bounded labels: no account, client or number is a label
    assert ACCOUNT not in text and "twilio-php" not in text


async def test_console_on_the_operations_port(aiohttp_server: SERVER) -> None:
    world, server = await start_world(aiohttp_server, console_on_ops_port=True, metrics_port=1)
    ops: Any = None
    try:
        assert (await world.console("/console/")).status == 404
        ops_app: web.Application = create_metrics_app(world.gateway[METRICS])
        mount_on_ops_port(ops_app, world.gateway, world.settings)
        ops = await aiohttp_server(ops_app)
        resp = await world.http.get(ops.make_url("/console/api/ledger"), headers=CONSOLE_AUTH)
        assert resp.status == 200
        assert (await world.http.get(ops.make_url("/console/"))).status == 401
        assert (await world.http.get(ops.make_url("/metrics"))).status == 200
    finally:
        await world.http.close()
        await server.close()


async def test_ledger_off_counts_nothing(aiohttp_server: SERVER) -> None:
    world, server = await start_world(aiohttp_server, ledger=False)
    try:
        await traffic(world)
        body = await (await world.console("/console/api/ledger")).json()
        assert body["ledger"] is False and body["accounts"] == []
    finally:
        await world.http.close()
        await server.close()


async def test_a_failing_answer_hook_costs_no_answer(aiohttp_server: SERVER) -> None:
    world, server = await start_world(aiohttp_server)

    def broken(*_: Any) -> None:
        raise RuntimeError("a bug in a hook")

    world.gateway[ANSWER_HOOKS].insert(0, broken)
    try:
        resp = await world.legacy("GET", f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages",
                                  ACCOUNT, TOKEN, PHP_AGENT)
        assert resp.status == 200
        ledger = await (await world.console("/console/api/ledger")).json()
        assert ledger["accounts"][0]["requests_last_week"] == 1  # later hooks still ran
    finally:
        await world.http.close()
        await server.close()


class DownStore(MemoryStore):
    """A store that no longer answers."""

    async def hash_incr(self, key: str, amounts: Any, ttl: float) -> None:
        raise StoreUnavailable("redis://127.0.0.1:1 did not answer")

    async def set_members(self, key: str) -> set[str]:
        raise StoreUnavailable("redis://127.0.0.1:1 did not answer")


async def test_store_down_costs_legacy_traffic_nothing(world: World) -> None:
    state = world.gateway[CONSOLE]
    up = state.store
    state.store = state.ledger.store = DownStore()  # type: ignore[union-attr]
    await traffic(world)  # every legacy answer as usual
    resp = await world.console("/console/api/ledger")
    assert resp.status == 503
    assert "redis://" not in await resp.text()
    assert state.ledger is not None and state.ledger.pending > 0  # kept for the next flush
    state.store = state.ledger.store = up
    body = await (await world.console("/console/api/ledger")).json()
    assert sum(a["requests_last_week"] for a in body["accounts"]) == 7
