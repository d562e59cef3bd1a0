"""The floor of any aiohttp proxy: a minimal aiohttp server (uvloop when installed) forwarding
every request -- method, path and query, body, Authorization and Content-Type -- to the upstream
over one ClientSession, and answering the upstream's status, body and Content-Type unchanged.
No parsing, no translation: what is left is the cost of an aiohttp server plus an aiohttp
client call, which bench_gateway measures next to the gateway.
Run: python -m tests.bench.floorproxy PORT UPSTREAM_URL"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from yarl import URL

SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)
# Content-Type matters too: without it the upstream cannot read a form body.
FORWARDED = ("Authorization", "Content-Type")


async def forward(request: web.Request) -> web.Response:
    headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
    # raw_path is already encoded; encoded=True spares yarl re-quoting it.
    url = URL(request.app[UPSTREAM] + request.raw_path, encoded=True)
    async with request.app[SESSION].request(
        request.method, url, headers=headers,
        data=await request.read() if request.body_exists else None,
    ) as resp:
        body = await resp.read()
        return web.Response(
            status=resp.status, body=body,
            headers={"Content-Type": resp.headers.get("Content-Type", "application/octet-stream")},
        )


async def session_ctx(app: web.Application) -> AsyncIterator[None]:
    # One keep-alive pool for every request; no cookie jar, as a proxy must not keep state.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        app[SESSION] = session
        yield


def proxy_app(upstream: str) -> web.Application:
    """An application holding the upstream URL and the one session; routes are the caller's."""
    app = web.Application()
    app[UPSTREAM] = upstream.rstrip("/")
    app.cleanup_ctx.append(session_ctx)
    return app


def serve(app: web.Application, port: int) -> None:
    try:
        import uvloop
    except ImportError:
        uvloop = None
    web.run_app(
        app, host="127.0.0.1", port=port, access_log=None, print=None,
        loop=uvloop.new_event_loop() if uvloop else None,
    )


def main() -> None:
    app = proxy_app(sys.argv[2])
    app.router.add_route("*", "/{tail:.*}", forward)
    serve(app, int(sys.argv[1]))


if __name__ == "__main__":
    main()
