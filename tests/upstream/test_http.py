"""The upstream client's lean path keeps its guarantees: bodies of known size are read in one go
and still bounded, chunked and compressed bodies still go through the bounded loop, every
attempt is timed into the observer and the request's observation without aiohttp's trace hooks,
the request id is still sent upstream, and the cached Authorization header is per credentials."""

from __future__ import annotations

import gzip
import json
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from gateway.model import ApiError, Credentials
from gateway.observability import context
from gateway.upstream.http import UpstreamClient, basic_auth_header
from gateway.upstream.retry import RetryPolicy

BODY = {"sid": "SM" + "0" * 32, "body": "x" * 2000}
RAW = json.dumps(BODY).encode()
MakeServer = Callable[..., Awaitable[TestServer]]


async def upstream(aiohttp_server: MakeServer) -> tuple[TestServer, list[CIMultiDict[str]]]:
    seen: list[CIMultiDict[str]] = []

    async def sized(request: web.Request) -> web.Response:
        seen.append(request.headers.copy())
        return web.Response(body=RAW, content_type="application/json")

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(0, len(RAW), 500):
            await resp.write(RAW[i:i + 500])
        await resp.write_eof()
        return resp

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(RAW), headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip"})

    async def failing(request: web.Request) -> web.Response:
        return web.json_response({"code": 20404, "message": "not found"}, status=404)

    app = web.Application()
    app.router.add_get("/sized", sized)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/missing", failing)
    return await aiohttp_server(app), seen


CREDS = Credentials("AC" + "1" * 32, "token")


@pytest.mark.parametrize("path", ["/sized", "/chunked", "/gzip"])
async def test_every_body_shape_reads_the_same(aiohttp_server: MakeServer, path: str) -> None:
    server, _ = await upstream(aiohttp_server)
    async with UpstreamClient(str(server.make_url(""))) as client:
        assert await client.call("GET", path, CREDS) == BODY


@pytest.mark.parametrize("path", ["/sized", "/chunked", "/gzip"])
async def test_every_body_shape_is_bounded(aiohttp_server: MakeServer, path: str) -> None:
    server, _ = await upstream(aiohttp_server)
    policy = RetryPolicy(retries=0, max_response_bytes=len(RAW) - 1)
    async with UpstreamClient(str(server.make_url("")), policy) as client:
        with pytest.raises(ApiError) as caught:
            await client.call("GET", path, CREDS)
    assert caught.value.status == 502


async def test_attempts_are_observed_and_tagged_without_trace_hooks(
    aiohttp_server: MakeServer,
) -> None:
    server, seen = await upstream(aiohttp_server)
    observed: list[tuple[str, int | None, float]] = []
    obs = context.Observation("req-123")
    token = context.current.set(obs)
    try:
        async with UpstreamClient(
            str(server.make_url("")), RetryPolicy(retries=0),
            observer=lambda m, s, sec: observed.append((m, s, sec)),
        ) as client:
            await client.call("GET", "/sized", CREDS)
            with pytest.raises(ApiError):
                await client.call("GET", "/missing", CREDS)
    finally:
        context.current.reset(token)
    assert [(m, s) for m, s, _ in observed] == [("GET", 200), ("GET", 404)]
    assert all(sec >= 0 for _, _, sec in observed)
    assert obs.upstream_requests == 2 and obs.upstream_status == 404
    assert obs.upstream_seconds == pytest.approx(sum(sec for _, _, sec in observed))
    assert seen[0][context.REQUEST_ID_HEADER] == "req-123"
    assert seen[0]["Authorization"] == basic_auth_header(CREDS)


async def test_unreachable_upstream_is_observed_as_error() -> None:
    observed: list[tuple[str, int | None, float]] = []
    async with UpstreamClient(
        "http://127.0.0.1:9", RetryPolicy(retries=0),
        observer=lambda m, s, sec: observed.append((m, s, sec)),
    ) as client:
        with pytest.raises(ApiError):
            await client.call("GET", "/x", CREDS)
    assert [(m, s) for m, s, _ in observed] == [("GET", None)]


def test_authorization_header_is_per_credentials() -> None:
    a, b = Credentials("ACa", "one"), Credentials("ACa", "two")
    assert basic_auth_header(a) == "Basic QUNhOm9uZQ=="
    assert basic_auth_header(a) is basic_auth_header(Credentials("ACa", "one"))
    assert basic_auth_header(b) == "Basic QUNhOnR3bw=="


FORM = [("To", "+14155551212"), ("From", "+14155550000"),
        ("Body", "¿Qué tal? a&b=c+d 100% \U0001f600"), ("StatusCallback", "http://x/y?a=1&b=2")]


async def test_a_form_is_sent_as_aiohttp_formdata_would_send_it(
    aiohttp_server: MakeServer,
) -> None:
    received: list[tuple[str, bytes]] = []

    async def record(request: web.Request) -> web.Response:
        received.append((request.headers["Content-Type"], await request.read()))
        return web.Response(body=RAW, content_type="application/json")

    app = web.Application()
    app.router.add_post("/form", record)
    server = await aiohttp_server(app)
    async with UpstreamClient(str(server.make_url(""))) as client, aiohttp.ClientSession() as session:
        await client.call("POST", "/form", CREDS, form=FORM)
        async with session.post(server.make_url("/form"), data=aiohttp.FormData(FORM)):
            pass
    assert received[0] == received[1]
    assert received[0][0] == "application/x-www-form-urlencoded"
