"""The 2010 dialect's HTTP behaviour beyond the matrix: methods, unknown paths, suffixes,
ApplicationSid and StatusCallback forwarding, upstream failures."""

from __future__ import annotations

import base64
import socket
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from gateway.callbacks.tokens import STATUS, verify_token
from gateway.sandbox.app import REQUEST_LOG
from tests.sms2010.conftest import ACCOUNT, AUTH, BASE_2010, MakeGateway

SID = "SM" + "0" * 32
SEND = {"From": "+14158141829", "To": "+14159352345", "Body": "hi"}


def _code(raw: bytes) -> str:
    return etree.fromstring(raw).findtext("RestException/Code") or ""


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", BASE_2010, "GET, POST"),
        ("DELETE", BASE_2010 + ".json", "GET, POST"),
        ("POST", f"{BASE_2010}/{SID}", "GET"),
        ("PUT", f"{BASE_2010}/{SID}.json", "GET"),
        ("DELETE", f"{BASE_2010}/{SID}.xml", "GET"),
    ],
)
async def test_405_with_allow(gateway: TestClient, method: str, path: str, allow: str) -> None:
    resp = await gateway.request(method, path, headers=AUTH)
    assert resp.status == 405 and resp.headers["Allow"] == allow
    raw = await resp.read()
    code = (await resp.json())["code"] if path.endswith(".json") else int(_code(raw))
    assert code == 20004


@pytest.mark.parametrize(
    "path",
    [
        f"/2010-04-01/Accounts/{ACCOUNT}/SMS/ShortCodes.json",
        f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages.html",
        f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages/{SID}/Media.json",
        f"/2010-04-01/Accounts/{ACCOUNT}/SMS",
        f"/2010-04-01/Accounts/{ACCOUNT}/SMS/",
        f"{BASE_2010}/not-a-sid.json",
        f"{BASE_2010}/..%2F..%2FMessages.json",
        "/2010-04-01/Accounts/ACnope/SMS/Messages.json",
    ],
)
async def test_unknown_paths_under_sms_are_2010_404s(
    gateway: TestClient, sandbox: TestServer, path: str
) -> None:
    resp = await gateway.get(path, headers=AUTH)
    assert resp.status == 404
    raw = await resp.read()
    code = (await resp.json())["code"] if path.endswith(".json") else int(_code(raw))
    assert code == 20404
    assert len(sandbox.app[REQUEST_LOG]) == 0  # nothing reached upstream


@pytest.mark.parametrize("suffix", [".Xml", ".XML", ".JSON", ".Json", ".CSV"])
async def test_suffix_is_case_insensitive(gateway: TestClient, suffix: str) -> None:
    resp = await gateway.post(BASE_2010 + suffix, data=SEND, headers=AUTH)
    assert resp.status == 201
    kind = suffix.lower()[1:]
    assert resp.headers["Content-Type"].startswith(
        {"xml": "application/xml", "json": "application/json", "csv": "text/csv"}[kind])


async def test_head_is_a_get_without_body(gateway: TestClient) -> None:
    resp = await gateway.head(BASE_2010 + ".json", headers=AUTH)
    assert resp.status == 200 and await resp.read() == b""


async def test_application_sid_is_forwarded(gateway: TestClient, sandbox: TestServer) -> None:
    app_sid = "AP" + "e" * 32
    resp = await gateway.post(
        BASE_2010 + ".json", data={**SEND, "ApplicationSid": app_sid}, headers=AUTH)
    assert resp.status == 201
    assert sandbox.app[REQUEST_LOG].last("POST").form_dict()["ApplicationSid"] == app_sid


KEY = "callback-signing-key-0123456789"


async def test_status_callback_goes_through_the_relay_as_sms2010(
    make_gateway: MakeGateway, sandbox: TestServer, upstream_api: str
) -> None:
    gateway = await make_gateway(
        upstream_api=upstream_api, public_url="https://gw.example.test",
        callback_signing_key=KEY,
    )
    legacy_url = "https://legacy.example.test/sms-status?x=1"
    resp = await gateway.post(
        BASE_2010 + ".json", data={**SEND, "StatusCallback": legacy_url}, headers=AUTH)
    assert resp.status == 201
    forwarded = sandbox.app[REQUEST_LOG].last("POST").form_dict()["StatusCallback"]
    assert forwarded.startswith("https://gw.example.test/callbacks/status/")
    target = verify_token([KEY], urlsplit(forwarded).path.rsplit("/", 1)[1], STATUS)
    assert (target.url, target.dialect, target.account_sid) == (legacy_url, "sms2010", ACCOUNT)


async def test_refused_status_callback_is_21609(gateway: TestClient) -> None:
    resp = await gateway.post(
        BASE_2010 + ".json", data={**SEND, "StatusCallback": "ftp://x"}, headers=AUTH)
    assert resp.status == 400 and (await resp.json())["code"] == 21609


async def test_upstream_down_is_a_2010_shaped_503(aiohttp_client: object) -> None:
    from gateway.app import create_app
    from gateway.config import Settings

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Settings(upstream_retries=0), upstream_url=f"http://127.0.0.1:{port}")
    client = await aiohttp_client(app)  # type: ignore[operator]
    resp = await client.get(BASE_2010 + ".json", headers=AUTH)
    assert resp.status == 503
    assert list((await resp.json()).items())[:1] == [("status", 503)]
    assert (await resp.json())["code"] == 20503
    resp = await client.get(BASE_2010, headers=AUTH)
    assert resp.status == 503 and _code(await resp.read()) == "20503"


async def test_wrong_token_is_401_with_challenge(gateway: TestClient) -> None:
    # The sandbox takes the first token an account uses; another one afterwards is 401.
    assert (await gateway.get(BASE_2010 + ".json", headers=AUTH)).status == 200
    other = base64.b64encode(f"{ACCOUNT}:another-token".encode()).decode()
    resp = await gateway.get(BASE_2010 + ".json", headers={"Authorization": "Basic " + other})
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
    assert (await resp.json())["code"] == 20003
