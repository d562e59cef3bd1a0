"""Isolation over HTTP: one account's cached cursors and totals never answer another account's
request, and neither the Host header nor the request target can steer the upstream URL (no open
proxy). The relay's own isolation (callback tokens replayed for another account, de-duplication
per account) is proven in tests/callbacks/test_relay.py
(test_token_replayed_for_another_account_is_refused, test_dedup_state_is_per_account) and the
paging translator's in tests/paging/test_translator.py
(test_accounts_never_share_cursors_or_totals)."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from lxml import etree

from gateway.config import Settings
from gateway.sandbox.app import REQUEST_LOG
from tests.reliability.conftest import ACCOUNT, ServeGateway, basic, raw_http
from tests.reliability.faulty_upstream import FaultyUpstream

OTHER = "AC" + "b" * 32
SETTINGS = Settings(total_mode="exact")


def get(path: str, auth: str, host: str = "api.twilio.com", target: str | None = None) -> bytes:
    return (f"GET {target or path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
            "Connection: close\r\n\r\n").encode()


def send(account: str, auth: str, body: str) -> bytes:
    form = f"To=4155551212&From=4155550000&Body={body}".encode()
    return (f"POST /2008-08-01/Accounts/{account}/SMS/Messages HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\nConnection: close\r\n\r\n").encode() + form


async def test_cached_cursors_and_totals_never_cross_accounts(
    serve_gateway: ServeGateway, sandbox: TestServer
) -> None:
    gw = await serve_gateway(SETTINGS, str(sandbox.make_url("")))
    a_auth, b_auth = basic(), basic(OTHER, "b-token")
    for i in range(12):
        resp = await raw_http(gw.host, gw.port, send(ACCOUNT, a_auth, f"a{i}"))
        assert resp is not None and resp.status == 201
    resp = await raw_http(gw.host, gw.port, send(OTHER, b_auth, "b0"))
    assert resp is not None and resp.status == 201

    a_list = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages?Page=1&num=5"
    a_page = await raw_http(gw.host, gw.port, get(a_list, a_auth))  # caches A's cursors, total
    assert a_page is not None and a_page.status == 200
    assert etree.fromstring(a_page.body).find("SMSMessages").get("total") == "12"

    # B's credentials on A's list: upstream decides, from B's credentials, not the cache.
    sandbox.app[REQUEST_LOG].clear()
    stolen = await raw_http(gw.host, gw.port, get(a_list, b_auth))
    assert stolen is not None and stolen.status in (401, 403)
    assert b"<Body>a" not in stolen.body and b'total="12"' not in stolen.body
    assert len(sandbox.app[REQUEST_LOG]) >= 1, "the cache did not answer in upstream's place"

    b_page = await raw_http(gw.host, gw.port, get(
        f"/2008-08-01/Accounts/{OTHER}/SMS/Messages?Page=1&num=5", b_auth))
    assert b_page is not None and b_page.status == 200
    lst = etree.fromstring(b_page.body).find("SMSMessages")
    assert lst.get("total") == "1" and len(lst) == 0


async def test_host_header_and_absolute_target_cannot_steer_upstream(
    serve_gateway: ServeGateway, sandbox: TestServer
) -> None:
    async with FaultyUpstream() as evil:
        gw = await serve_gateway(SETTINGS, str(sandbox.make_url("")))
        path = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
        evil_host = f"127.0.0.1:{evil.port}"
        attempts = [
            get(path, basic(), host=evil_host),
            get(path, basic(), host=evil_host, target=f"http://{evil_host}{path}"),
            get(path, basic(), target=f"//{evil_host}{path}"),
            get(f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", basic(), host=evil_host),
            get(f"/2010-04-01/Accounts/{ACCOUNT}/../../..//{evil_host}/x", basic()),
            get(f"/2010-04-01/Accounts/{ACCOUNT}/%2e%2e/%2f%2f{evil_host}", basic()),
        ]
        for raw in attempts:
            resp = await raw_http(gw.host, gw.port, raw)
            assert resp is not None and resp.status != 500
        assert evil.count() == 0
        for seen in sandbox.app[REQUEST_LOG]:
            assert seen.path.startswith(f"/2010-04-01/Accounts/{ACCOUNT}/")
            assert ".." not in seen.path and evil_host not in seen.path
