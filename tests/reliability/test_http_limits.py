"""The HTTP surface's last line and limits: legacy-shaped errors for whatever escapes a handler
(aiohttp's own 404/405/413 included), request body and header size, slow clients, and the cap
on open connections. Served the way server.py serves it, over real sockets."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from gateway.config import Settings
from gateway.guard import guard
from gateway.sandbox.app import REQUEST_LOG
from tests.reliability.conftest import (
    ACCOUNT,
    ServeGateway,
    basic,
    raw_http,
)

BASE = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
LIMITS = Settings(max_request_body=1024, max_header_size=1024, client_timeout=0.5,
                  max_client_connections=4)


def rest_exception(body: bytes, status: int) -> etree._Element:
    root = etree.fromstring(body)
    assert root.tag == "TwilioResponse"
    exc = root.find("RestException")
    assert exc is not None and exc.findtext("Status") == str(status)
    return exc


def request(method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: api.twilio.com", *headers,
             f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


async def test_unknown_path_is_a_legacy_404(serve_gateway: ServeGateway,
                                            sandbox: TestServer) -> None:
    gw = await serve_gateway(LIMITS, str(sandbox.make_url("")))
    resp = await raw_http(gw.host, gw.port, request("GET", "/nothing/here"))
    assert resp is not None and resp.status == 404
    assert resp.headers["content-type"].startswith("application/xml")
    rest_exception(resp.body, 404)


async def test_aiohttp_405_outside_the_dialects_is_legacy_shaped(
    serve_gateway: ServeGateway, sandbox: TestServer
) -> None:
    gw = await serve_gateway(LIMITS, str(sandbox.make_url("")))
    resp = await raw_http(gw.host, gw.port, request("DELETE", "/healthz"))
    assert resp is not None and resp.status == 405
    assert rest_exception(resp.body, 405).findtext("Code") == "20004"
    assert "GET" in resp.headers.get("allow", "")


@pytest.mark.parametrize("suffix", ["", ".json", ".csv"])
async def test_body_over_the_limit_is_a_legacy_413_and_never_sent(
    suffix: str, serve_gateway: ServeGateway, sandbox: TestServer
) -> None:
    gw = await serve_gateway(LIMITS, str(sandbox.make_url("")))
    body = b"To=4155551212&From=4155550000&Body=" + b"x" * 2000
    resp = await raw_http(gw.host, gw.port, request(
        "POST", BASE + suffix, f"Authorization: {basic()}",
        "Content-Type: application/x-www-form-urlencoded", body=body))
    assert resp is not None and resp.status == 413
    if suffix == ".json":
        assert b'"RestException"' in resp.body and b'"413"' in resp.body
    elif suffix == "":
        rest_exception(resp.body, 413)
    assert len(sandbox.app[REQUEST_LOG]) == 0


async def test_header_over_the_limit_is_refused_before_any_handler(
    serve_gateway: ServeGateway, sandbox: TestServer
) -> None:
    gw = await serve_gateway(LIMITS, str(sandbox.make_url("")))
    resp = await raw_http(gw.host, gw.port, request(
        "GET", BASE, f"Authorization: {basic()}", "X-Big: " + "a" * 2000))
    assert resp is not None and resp.status in (400, 431)
    long_line = await raw_http(gw.host, gw.port, request("GET", BASE + "?x=" + "a" * 2000))
    assert long_line is not None and long_line.status in (400, 414)
    ok = await raw_http(gw.host, gw.port, request(
        "GET", BASE, f"Authorization: {basic()}", "X-Fine: " + "a" * 500))
    assert ok is not None and ok.status == 200
    assert len(sandbox.app[REQUEST_LOG]) == 1  # only the request within the limit


async def _closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    t0 = time.monotonic()
    data = await asyncio.wait_for(reader.read(-1), limit)
    assert data == b"" or data.startswith(b"HTTP/1.1 408") or b"\r\n\r\n" in data
    return time.monotonic() - t0


async def test_a_slow_request_head_is_cut_off(serve_gateway: ServeGateway,
                                              sandbox: TestServer) -> None:
    gw = await serve_gateway(LIMITS, str(sandbox.make_url("")))
    reader, writer = await asyncio.open_connection(gw.host, gw.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:
        with pytest.raises(ConnectionError):
            for _ in range(100):
                writer.write(b"X-A: b\r\n")
                await writer.drain()
                await asyncio.sleep(0.05)

    task = asyncio.create_task(trickle())
    elapsed = await _closed_after(reader, 3.0)
    assert 0.45 <= elapsed < 1.5
    task.cancel()
    writer.close()
    assert gw.site.timed_out == 1


async def test_a_slow_request_body_is_cut_off(serve_gateway: ServeGateway,
                                              sandbox: TestServer) -> None:
    gw = await serve_gateway(LIMITS, str(sandbox.make_url("")))
    reader, writer = await asyncio.open_connection(gw.host, gw.port)
    writer.write(request("POST", BASE, f"Authorization: {basic()}",
                         "Content-Type: application/x-www-form-urlencoded")[:-2]
                 .replace(b"Content-Length: 0", b"Content-Length: 100") + b"\r\nTo=1")
    await writer.drain()
    elapsed = await _closed_after(reader, 3.0)
    assert elapsed < 1.5
    writer.close()
    assert gw.site.timed_out == 1
    assert len(sandbox.app[REQUEST_LOG]) == 0


async def test_a_slow_upstream_is_not_mistaken_for_a_slow_client(
    serve_gateway: ServeGateway,
) -> None:
    from tests.reliability.faulty_upstream import FaultyUpstream, latency

    async with FaultyUpstream() as up:
        gw = await serve_gateway(LIMITS, up.url)
        up.enqueue(latency(1.0))
        resp = await raw_http(gw.host, gw.port, request("GET", BASE, f"Authorization: {basic()}"))
        assert resp is not None and resp.status == 200
        assert gw.site.timed_out == 0


async def test_connections_beyond_the_cap_are_closed(serve_gateway: ServeGateway,
                                                     sandbox: TestServer) -> None:
    """Beyond the cap only a health probe gets through (gateway/probe_lane.py); any other
    request is closed unanswered."""
    gw = await serve_gateway(replace(LIMITS, client_timeout=5.0), str(sandbox.make_url("")))
    held = [await asyncio.open_connection(gw.host, gw.port) for _ in range(4)]
    await asyncio.sleep(0.05)
    assert gw.site.open_connections == 4
    reader, writer = await asyncio.open_connection(gw.host, gw.port)
    with pytest.raises(ConnectionError):
        writer.write(request("GET", BASE, f"Authorization: {basic()}"))
        await writer.drain()
        if await asyncio.wait_for(reader.read(-1), 2.0) == b"":
            raise ConnectionResetError
    writer.close()
    assert gw.site.refused == 1
    for path in ("/healthz", "/readyz"):
        resp = await raw_http(gw.host, gw.port, request("GET", path))
        assert resp is not None and resp.status in (200, 503), path
    _, w0 = held.pop()
    w0.close()
    await asyncio.sleep(0.05)
    resp = await raw_http(gw.host, gw.port, request("GET", "/healthz"))
    assert resp is not None and resp.status == 200
    for _, w in held:
        w.close()


async def test_an_exception_escaping_a_handler_is_a_legacy_error_without_traceback(
    aiohttp_client: object, caplog: pytest.LogCaptureFixture
) -> None:
    secret, words = "secret-auth-" + "token", "private " + "words"

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError(f"token={secret} Body={words}")

    app = web.Application(middlewares=[guard])
    app.router.add_get("/2008-08-01/Accounts/{sid}/SMS/Messages.json", broken)
    app.router.add_get("/2008-08-01/Accounts/{sid}/SMS/Messages", broken)
    client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    with caplog.at_level(logging.ERROR, logger="gateway.guard"):
        resp = await client.get(f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages",
                                headers={"X-Request-Id": "abc"})
        body = await resp.read()
        assert resp.status == 500
        exc = rest_exception(body, 500)
        assert exc.findtext("Message") == "An internal error occurred"
        js = await client.get(f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages.json")
        assert js.status == 500
        assert (await js.json())["TwilioResponse"]["RestException"]["Status"] == "500"
    assert b"Traceback" not in body and b"RuntimeError" not in body
    assert "RuntimeError" in caplog.text
    assert "secret-auth-token" not in caplog.text and "private words" not in caplog.text
