"""Defects 1 and 4 of issue 15: nothing logged, by the gateway or by a library on its behalf,
carries credentials, tokens or bodies; a malformed request is one quiet line, not an ERROR
with the request's bytes; tracebacks carry no spurious uvloop ImportError."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import sys

import pytest
from aiohttp.test_utils import TestClient
from multidict import MultiDict

from gateway import server
from gateway.callbacks.wrap import inbound_webhook_url
from gateway.config import Settings
from gateway.observability.logs import loggable_query
from tests.callbacks.conftest import ACCOUNT, LegacyApp, gateway_settings, twilio_get
from tests.reliability.conftest import ServeGateway, raw_http

SECRET = "s3cr3t-auth-token-abcdef0123456789"
CREDS = base64.b64encode(f"AC{'f' * 32}:{SECRET}".encode()).decode()
BODY = "the-vault-code-is-7731"


def _leaks(text: str) -> list[str]:
    return [s for s in (SECRET, CREDS, BODY, "4155551212", "ModuleNotFoundError") if s in text]


@pytest.mark.parametrize(
    "request_bytes",
    [
        # a control byte in a header next to the credentials
        (f"GET /2008-08-01/Accounts/AC{'f' * 32}/SMS/Messages?To=4155551212&Body={BODY} "
         f"HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {CREDS}\r\nX-Bad: a\x01b\r\n\r\n").encode(),
        # an Authorization header over the size limit
        (f"GET /2008-08-01/Accounts/AC{'f' * 32}/SMS/Messages HTTP/1.1\r\nHost: x\r\n"
         f"Authorization: Basic {CREDS}{'A' * 3000}\r\n\r\n").encode(),
        # a control byte in the credentials themselves, and in the request line
        (f"GET /x?To=+14155551212&Body={BODY}\x7f HTTP/1.1\r\nHost: x\r\n"
         f"Authorization: Basic {CREDS}\x00\r\n\r\n").encode(),
        (f"POST /2008-08-01/Accounts/AC{'f' * 32}/SMS/Messages HTTP/1.1\r\nHost: x\r\n"
         f"Authorization: Basic {CREDS}\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n"
         f"Body={BODY}").encode(),
    ],
)
async def test_a_malformed_request_logs_no_credentials(
    serve_gateway: ServeGateway, captured_log: io.StringIO, request_bytes: bytes
) -> None:
    served = await serve_gateway(Settings(max_header_size=2048), "http://127.0.0.1:9")
    resp = await raw_http(served.host, served.port, request_bytes)
    assert resp is not None and resp.status in (400, 431)
    await asyncio.sleep(0.05)
    text = captured_log.getvalue()
    assert "rejected a malformed request" in text
    assert _leaks(text) == []
    assert " ERROR " not in text and "Traceback" not in text


def test_the_access_query_withholds_bodies_and_unknown_values() -> None:
    query = MultiDict([("To", "+14155551212"), ("Body", BODY), ("DateSent>", "2010-01-01"),
                       ("Page", "2"), ("Whatever", SECRET)])
    line = loggable_query(query, mask=True)
    assert BODY not in line and SECRET not in line and "4155551212" not in line
    assert "DateSent>=2010-01-01" in line and "Page=2" in line
    assert "Body=[withheld]" in line


async def test_a_get_inbound_webhook_logs_neither_its_body_nor_its_token(
    make_gateway: object, legacy: LegacyApp, captured_log: io.StringIO
) -> None:
    gateway: TestClient = await make_gateway()  # type: ignore[operator]
    url = inbound_webhook_url(gateway_settings(), ACCOUNT, legacy.url("/sms"), "GET")
    params = [("MessageSid", "SM" + "a" * 32), ("AccountSid", ACCOUNT),
              ("From", "+14155551212"), ("To", "+14158675309"), ("Body", BODY)]
    resp = await twilio_get(gateway, url, params)
    assert resp.status == 200
    assert legacy.seen and legacy.seen[0].params  # it did reach the legacy app
    text = captured_log.getvalue()
    assert "/callbacks/inbound/" in text  # the access line is there ...
    assert BODY not in text and "4155551212" not in text  # ... without the body or the number
    token = url.rsplit("/", 1)[1]
    assert token not in text and token.split(".")[1][:16] not in text


def test_tracebacks_carry_no_uvloop_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if the speed extra were missing
    caught: list[BaseException] = []

    async def fail(_: Settings) -> None:
        try:
            raise ValueError("boom")
        except ValueError as exc:
            caught.append(exc)
            logging.getLogger("test").debug("x", exc_info=exc)

    server.run(fail, Settings())
    assert caught and caught[0].__context__ is None
