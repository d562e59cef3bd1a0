"""Defects 7 and 8 of issue 15: work for clients that have gone is stopped (never a send's);
health probes get through at the connection cap; a body declared over the limit is a 413 at
once rather than after the slow-client timeout."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from gateway.config import Settings
from gateway.errors import CLIENT_CLOSED
from gateway.guard import guard
from gateway.observability import DRAIN_STATE
from gateway.observability.logs import ACCESS_LOGGER
from tests.reliability.conftest import ACCOUNT, ServeGateway, basic, raw_http

LIST = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
SETTINGS = Settings(upstream_timeout=30.0, upstream_read_timeout=0, total_mode="off",
                    client_timeout=30.0)
MakeServer = Callable[..., Awaitable[TestServer]]


def request(method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: api.twilio.com", *headers,
             f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


@dataclass
class HeldUpstream:
    """An upstream that holds every request until ``gate`` opens, and notes for each whether
    the gateway was still connected when it answered."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: list[str] = field(default_factory=list)
    answered_to_live_connection: list[bool] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.arrived.append(request.method)
        await request.read()
        await self.gate.wait()
        transport = request.transport
        self.answered_to_live_connection.append(
            transport is not None and not transport.is_closing()
        )
        if request.method == "POST":
            return web.json_response({"sid": "SM" + "1" * 32, "status": "queued"}, status=201)
        return web.json_response({"messages": [], "next_page_uri": None})


async def _held(aiohttp_server: MakeServer) -> tuple[HeldUpstream, str]:
    upstream = HeldUpstream()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream.handle)
    server = await aiohttp_server(app)
    return upstream, str(server.make_url("")).rstrip("/")


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def _send_and_leave(host: str, port: int, data: bytes) -> None:
    _, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    await asyncio.sleep(0.02)
    writer.close()


async def test_abandoned_lists_stop_their_upstream_work(
    serve_gateway: ServeGateway, aiohttp_server: MakeServer
) -> None:
    upstream, url = await _held(aiohttp_server)
    gw = await serve_gateway(SETTINGS, url)
    drain_state = gw.app[DRAIN_STATE]
    await asyncio.gather(*(
        _send_and_leave(gw.host, gw.port, request("GET", LIST, f"Authorization: {basic()}"))
        for _ in range(20)
    ))
    await _until(lambda: len(upstream.arrived) == 20)
    # Upstream still holds every one of them, yet the gateway has stopped waiting: with the
    # clients gone, nobody would read the answers (before: 30 s each, the upstream timeout).
    await _until(lambda: drain_state.in_flight == 0, timeout=5.0)
    upstream.gate.set()


async def test_an_abandoned_send_is_finished_not_cut_off(
    serve_gateway: ServeGateway, aiohttp_server: MakeServer
) -> None:
    upstream, url = await _held(aiohttp_server)
    gw = await serve_gateway(SETTINGS, url)
    drain_state = gw.app[DRAIN_STATE]
    form = b"To=4155551212&From=4155550000&Body=hello"
    await _send_and_leave(gw.host, gw.port, request(
        "POST", LIST, f"Authorization: {basic()}",
        "Content-Type: application/x-www-form-urlencoded", body=form))
    await _until(lambda: upstream.arrived == ["POST"])
    await asyncio.sleep(0.2)
    assert drain_state.in_flight == 1  # still sending although its client has gone
    upstream.gate.set()
    await _until(lambda: drain_state.in_flight == 0)
    assert upstream.answered_to_live_connection == [True]


async def test_probes_are_answered_at_the_connection_cap(
    serve_gateway: ServeGateway, sandbox: TestServer
) -> None:
    gw = await serve_gateway(replace(SETTINGS, max_client_connections=3),
                             str(sandbox.make_url("")))
    held = [await asyncio.open_connection(gw.host, gw.port) for _ in range(3)]
    await asyncio.sleep(0.05)
    try:
        for path in ("/healthz", "/readyz"):
            resp = await raw_http(gw.host, gw.port, request("GET", path, "Connection: close"))
            assert resp is not None and resp.status == 200, path
        # anything else beyond the cap is closed unanswered, as before
        resp = await raw_http(gw.host, gw.port, request(
            "GET", LIST, f"Authorization: {basic()}", "Connection: close"))
        assert resp is None
        # a probe's connection carries the probe only
        resp = await raw_http(gw.host, gw.port, request("GET", "/healthz") + request(
            "GET", LIST, f"Authorization: {basic()}"))
        assert resp is None
    finally:
        for _, w in held:
            w.close()


async def test_a_declared_body_over_the_limit_is_refused_at_once(
    serve_gateway: ServeGateway, sandbox: TestServer
) -> None:
    gw = await serve_gateway(replace(SETTINGS, max_request_body=4096),
                             str(sandbox.make_url("")))
    for path in (LIST, f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages.json",
                 "/callbacks/status/v1.x.y"):
        reader, writer = await asyncio.open_connection(gw.host, gw.port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic()}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 10000000\r\n\r\nTo=1".encode()
        )
        await writer.drain()
        # the client has sent 4 of its 10 million bytes and waits: the answer comes anyway
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        assert head.startswith(b"HTTP/1.1 413"), (path, head)
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        body = await asyncio.wait_for(reader.readexactly(length), 5.0)
        writer.close()
        # the legacy shape of the path's dialect and format, the status in it
        if path.endswith(".json"):
            assert json.loads(body)["status"] == 413, body
        else:
            assert etree.fromstring(body).findtext("RestException/Status") == "413", body


async def test_a_send_whose_client_leaves_mid_body_is_no_server_error(
    serve_gateway: ServeGateway, sandbox: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The shielded send outlives its client and its body read fails: the client left, which is
    not the gateway's fault, so no ERROR and no traceback; one INFO line and a 499."""
    caplog.set_level(logging.INFO)
    gw = await serve_gateway(SETTINGS, str(sandbox.make_url("")))
    drain_state = gw.app[DRAIN_STATE]
    _, writer = await asyncio.open_connection(gw.host, gw.port)
    writer.write(
        f"POST {LIST} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic()}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 1000\r\n\r\nTo=415555".encode()
    )
    await writer.drain()
    await _until(lambda: drain_state.in_flight == 1)
    writer.close()
    await _until(lambda: drain_state.in_flight == 0)
    guard_records = [r for r in caplog.records if r.name == "gateway.guard"]
    assert [r.levelno for r in guard_records] == [logging.INFO], caplog.text
    (gone,) = guard_records
    assert gone.exc_info is None and "client" in gone.getMessage()
    assert "Connection lost" not in caplog.text and "Traceback" not in caplog.text
    access = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [r.args[2] for r in access] == [CLIENT_CLOSED]  # type: ignore[index]


async def test_a_connection_error_with_the_client_still_there_is_a_server_error(
    aiohttp_client: Callable[..., Awaitable[TestClient]], caplog: pytest.LogCaptureFixture
) -> None:
    """Only a client that has left excuses a connection error: one of the gateway's own (a
    socket it opened) stays a 500 logged at ERROR."""

    async def broken(request: web.Request) -> web.Response:
        raise ConnectionResetError("Connection reset by peer")

    app = web.Application(middlewares=[guard])
    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    resp = await client.get("/broken")
    assert resp.status == 500
    assert [r.levelno for r in caplog.records if r.name == "gateway.guard"] == [logging.ERROR]
