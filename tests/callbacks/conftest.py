"""Fixtures for the callback tests: a recording legacy app and a gateway whose callback
endpoints are reached as Twilio would reach them (signed with twilio's own RequestValidator)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from gateway.app import create_app
from gateway.config import Settings

ACCOUNT = "AC" + "1" * 32
TOKEN = "auth-token-of-account-one"
OTHER_ACCOUNT = "AC" + "2" * 32
OTHER_TOKEN = "auth-token-of-account-two"
KEY = "callback-signing-key-0123456789"
PUBLIC_URL = "https://gw.example.test"  # as if behind a TLS-terminating proxy


@dataclass
class Seen:
    method: str
    url: str
    params: list[tuple[str, str]]
    signature: str | None
    valid: bool  # the signature as twilio's RequestValidator judges it


@dataclass
class LegacyApp:
    """A legacy app: records what reaches it and answers from a script (default 200)."""

    base: str = ""
    seen: list[Seen] = field(default_factory=list)
    replies: list[tuple[int, str]] = field(default_factory=list)
    delay: float = 0.0

    def url(self, path: str) -> str:
        return self.base + path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        url = str(request.url)
        if request.method == "POST":
            form = await request.post()
            params = [(k, str(v)) for k, v in form.items()]
            valid = RequestValidator(TOKEN).validate(url, dict(params), request.headers.get(
                "X-Twilio-Signature", ""))
        else:
            params = list(request.query.items())
            valid = RequestValidator(TOKEN).validate(
                url, {}, request.headers.get("X-Twilio-Signature", "")
            )
        self.seen.append(
            Seen(request.method, url, params, request.headers.get("X-Twilio-Signature"), valid)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        status, body = self.replies.pop(0) if self.replies else (200, "")
        if 300 <= status < 400:
            raise web.HTTPFound(self.url("/elsewhere"))
        return web.Response(status=status, text=body, content_type="application/xml")


@pytest.fixture
async def legacy(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> LegacyApp:
    app = LegacyApp()
    web_app = web.Application()
    web_app.router.add_route("*", "/{tail:.*}", app.handle)
    server = await aiohttp_server(web_app)
    app.base = str(server.make_url("")).rstrip("/")
    return app


def gateway_settings(**changes: Any) -> Settings:
    base = Settings(
        public_url=PUBLIC_URL,
        callback_signing_key=KEY,
        accounts=f"{ACCOUNT}={TOKEN},{OTHER_ACCOUNT}={OTHER_TOKEN}",
        callback_timeout=2.0,
        # The legacy apps here listen on 127.0.0.1, which the SSRF policy refuses by default.
        callback_allow_private_networks=True,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
async def make_gateway(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> Callable[..., Awaitable[TestClient]]:
    async def make(**changes: Any) -> TestClient:
        return await aiohttp_client(create_app(gateway_settings(**changes)))

    return make


@pytest.fixture
async def gateway(make_gateway: Callable[..., Awaitable[TestClient]]) -> TestClient:
    return await make_gateway()


def path_of(url: str) -> str:
    assert url.startswith(PUBLIC_URL), url
    return url[len(PUBLIC_URL):]


async def twilio_post(
    client: TestClient, url: str, params: list[tuple[str, str]], token: str = TOKEN,
    signature: str | None = None,
) -> Any:
    """POST as Twilio does to the public ``url``: form body, signed for that URL."""
    sig = signature or RequestValidator(token).compute_signature(url, dict(params))
    return await client.post(
        path_of(url), data=urlencode(params),
        headers={"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"},
    )


async def twilio_get(
    client: TestClient, url: str, params: list[tuple[str, str]], token: str = TOKEN
) -> Any:
    full = url + "?" + urlencode(params)
    sig = RequestValidator(token).compute_signature(full, {})
    return await client.get(path_of(full), headers={"X-Twilio-Signature": sig})


def status_event(
    sid: str, status: str, account: str = ACCOUNT, error_code: str = ""
) -> list[tuple[str, str]]:
    """The parameters of a current-API status callback (FACTS section 3)."""
    return [
        ("MessageSid", sid), ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status),
        ("AccountSid", account), ("From", "+14155551212"), ("To", "+14158675309"),
        ("ApiVersion", "2010-04-01"), ("ErrorCode", error_code),
    ]
