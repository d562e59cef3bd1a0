"""Defects 2, 5 and 8 of issue 15: a 500 on an undecodable form charset, a refused TwiML
<Redirect> left for Twilio to call, a status token issued in the future."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from gateway.app import create_app
from gateway.callbacks.tokens import STATUS, CallbackTarget, TokenError, sign_token, verify_token
from gateway.callbacks.twiml import rewrite_reply
from gateway.callbacks.urls import STATUS_PATH
from gateway.config import Settings
from tests.callbacks.conftest import (
    ACCOUNT as CB_ACCOUNT,
)
from tests.callbacks.conftest import (
    KEY,
    PUBLIC_URL,
    LegacyApp,
    status_event,
    twilio_post,
)
from tests.reliability.conftest import ACCOUNT, basic

Client = Callable[..., Awaitable[TestClient]]
SID = "SM" + "c" * 32
PATHS = [
    f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages",
    f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages.json",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("charset", "body"),
    [("undefined", b"To=4155551212&From=4155550000&Body=hi"),
     ("idna", b"To=4155551212&From=4155550000&Body=xn--a"),
     ("idna", b"To=4155551212&From=4155550000&Body=" + b"a" * 70)],
)
async def test_a_charset_python_knows_but_cannot_decode_with_is_no_500(
    aiohttp_client: Client, sandbox: TestServer, path: str, charset: str, body: bytes
) -> None:
    client = await aiohttp_client(create_app(Settings(), str(sandbox.make_url(""))))
    resp = await client.post(path, data=body, headers={
        "Authorization": basic(),
        "Content-Type": f"application/x-www-form-urlencoded; charset={charset}",
    })
    assert resp.status < 500, await resp.text()


def _refuse_all(kind: str, url: str, method: str) -> str | None:
    return None


def test_a_refused_redirect_is_removed_not_left_verbatim() -> None:
    reply = (b"<Response><Sms>hi</Sms>\n  <Redirect>http://169.254.169.254/latest/</Redirect>\n"
             b"  <Sms action='http://127.0.0.1/a' statusCallback='http://10.0.0.1/s'>x</Sms>"
             b"<Message action='http://127.0.0.1/b'>y</Message></Response>")
    out = rewrite_reply(reply, "https://legacy.example/sms", _refuse_all)
    assert b"169.254.169.254" not in out and b"127.0.0.1" not in out and b"10.0.0.1" not in out
    root = etree.fromstring(out)
    assert [el.tag for el in root] == ["Message", "Message", "Message"]
    assert [el.text for el in root] == ["hi", "x", "y"]


def test_a_kept_redirect_is_wrapped() -> None:
    out = rewrite_reply(b"<Response><Redirect>next</Redirect></Response>",
                        "https://legacy.example/sms", lambda k, u, m: "https://gw/x")
    assert etree.fromstring(out)[0].text == "https://gw/x"


def test_a_token_from_the_future_is_refused() -> None:
    now = time.time()
    target = CallbackTarget(STATUS, "https://l.example/cb", CB_ACCOUNT, "v2008", "POST",
                            int(now) + 3600)
    with pytest.raises(TokenError, match="future"):
        verify_token([KEY], sign_token(KEY, target), STATUS, now=now, max_age=86400)
    # a little clock skew between replicas is fine
    skewed = CallbackTarget(STATUS, "https://l.example/cb", CB_ACCOUNT, "v2008", "POST",
                            int(now) + 30)
    assert verify_token([KEY], sign_token(KEY, skewed), STATUS, now=now, max_age=86400)


async def test_a_future_status_token_is_not_relayed(
    make_gateway: Client, legacy: LegacyApp
) -> None:
    gateway = await make_gateway()
    target = CallbackTarget(STATUS, legacy.url("/status"), CB_ACCOUNT, "v2008", "POST",
                            int(time.time()) + 30 * 86400)
    url = PUBLIC_URL + STATUS_PATH + sign_token(KEY, target)
    resp = await twilio_post(gateway, url, status_event(SID, "sent"))
    assert resp.status == 404
    assert legacy.seen == []
