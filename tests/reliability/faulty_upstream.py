"""A controllable faulty upstream for tests: a Twilio-shaped Messages API that serves queued
faults first and answers well otherwise.

    upstream = FaultyUpstream()                      # or FaultyUpstream(target=sandbox_url)
    await upstream.start()
    upstream.enqueue(status(503, retry_after="1"), method="POST")   # the next create gets it
    ...
    await upstream.close()

Every request is logged (``upstream.requests``) with the fault it got. Without a ``target`` a
tiny in-memory store answers (``upstream.store``: count its creates to prove no duplicate and no
loss); with one, requests are proxied there. Each fault says whether the store processes the
request before the fault hits (``process``): a reset after processing is how a real upstream
loses the answer to a send that did happen.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Self

import aiohttp
from aiohttp import web
from multidict import MultiDict

# --- faults ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    size: int = 0
    declared: bool = True  # too_large: announce the size in Content-Length (else chunked)
    process: bool = True  # let the backend act on the request before the fault hits


PASS = Fault("pass")


def latency(seconds: float) -> Fault:
    return Fault("pass", delay=seconds)


def reset_before(process: bool = True) -> Fault:
    """The connection is reset (RST) after the request was read, before any answer."""
    return Fault("reset_before", process=process)


def reset_mid_body() -> Fault:
    return Fault("reset_mid_body")


def truncated_json() -> Fault:
    """The real answer's status and headers with its JSON cut in half (Content-Length agrees)."""
    return Fault("truncated_json")


def non_json() -> Fault:
    return Fault("non_json")


def html_error(status: int = 500) -> Fault:
    return Fault("html", status=status)


def status(code: int, retry_after: str | None = None, *, process: bool | None = None) -> Fault:
    """An error status with Twilio's JSON error body. 429 and 503 mean "not processed" unless
    ``process`` says otherwise; other statuses happen after processing by default."""
    if process is None:
        process = code not in (429, 503)
    return Fault("status", status=code, retry_after=retry_after, process=process)


def bare_status(code: int, retry_after: str | None = None) -> Fault:
    """An error status with an empty body, as a load balancer answers."""
    return Fault("bare_status", status=code, retry_after=retry_after, process=code not in (429, 503))


def rate_limited(retry_after: str | None = None) -> Fault:
    return status(429, retry_after)


def too_large(size: int, *, declared: bool = True) -> Fault:
    return Fault("too_large", size=size, declared=declared)


def hang() -> Fault:
    """Accept and read the request, never answer."""
    return Fault("hang")


def hang_after_headers() -> Fault:
    """Send status and headers, then never the body."""
    return Fault("hang_after_headers")


ALL_FAULTS: tuple[Fault, ...] = (
    reset_before(),
    reset_before(process=False),
    reset_mid_body(),
    truncated_json(),
    non_json(),
    html_error(500),
    html_error(502),
    status(500),
    status(502),
    status(503),
    status(503, retry_after="0"),
    rate_limited(),
    bare_status(503),
    too_large(4 * 1024 * 1024),
    hang(),
    latency(0.05),
)

_ERROR_MESSAGES = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    502: (20502, "Bad Gateway"),
    503: (20503, "Service Unavailable"),
}


def twilio_error(code: int, message: str, http_status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": http_status,
    }


# --- the built-in store ------------------------------------------------------------------------


def _rfc2822(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


class MessageStore:
    """Just enough of the Messages API to answer create, fetch and list."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []  # sids, oldest first
        self.bodies: Counter[str] = Counter()  # how many times each Body was created
        # Most messages one list page holds, whatever PageSize asks (an upstream with a
        # smaller maximum page makes every walk long).
        self.max_page_size = 1000

    @property
    def creates(self) -> int:
        return len(self.order)

    def create(self, account: str, form: MultiDict[str]) -> tuple[int, dict[str, Any]]:
        for name, code in (("To", 21604), ("Body", 21602), ("From", 21603)):
            if not form.get(name):
                return 400, twilio_error(code, f"A '{name}' parameter is required", 400)
        sid = "SM" + uuid.uuid4().hex
        now = _rfc2822(datetime.now(UTC))
        msg = {
            "body": form["Body"],
            "num_segments": "1",
            "direction": "outbound-api",
            "from": form["From"],
            "to": form["To"],
            "date_updated": now,
            "price": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            "account_sid": account,
            "num_media": "0",
            "status": "queued",
            "messaging_service_sid": None,
            "sid": sid,
            "date_sent": now,
            "date_created": now,
            "error_code": None,
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "subresource_uris": {},
        }
        self.messages[sid] = msg
        self.order.append(sid)
        self.bodies[msg["body"]] += 1
        return 201, msg

    def fetch(self, account: str, sid: str) -> tuple[int, dict[str, Any]]:
        msg = self.messages.get(sid)
        if msg is None or msg["account_sid"] != account:
            return 404, twilio_error(20404, "The requested resource was not found", 404)
        return 200, msg

    def list(self, account: str, query: MultiDict[str]) -> tuple[int, dict[str, Any]]:
        try:
            size = max(1, min(self.max_page_size, int(query.get("PageSize", "50"))))
            start = int(query.get("PageToken", "0"))
        except ValueError:
            return 400, twilio_error(21481, "Invalid PageToken", 400)
        to = query.get("To")
        sids = [
            s for s in reversed(self.order)
            if self.messages[s]["account_sid"] == account
            and (to is None or self.messages[s]["to"] == to)
        ]
        page = [self.messages[s] for s in sids[start : start + size]]
        base = f"/2010-04-01/Accounts/{account}/Messages.json"
        more = start + size < len(sids)
        nxt = f"{base}?PageSize={size}&PageToken={start + size}" if more else None
        return 200, {
            "first_page_uri": f"{base}?PageSize={size}",
            "end": start + max(len(page) - 1, 0),
            "previous_page_uri": None,
            "messages": page,
            "uri": f"{base}?PageSize={size}",
            "page_size": size,
            "start": start,
            "next_page_uri": nxt,
            "page": start // size,
        }


# --- the server --------------------------------------------------------------------------------


@dataclass(slots=True)
class Seen:
    method: str
    path: str
    query: MultiDict[str]
    form: MultiDict[str] | None
    fault: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Queued:
    fault: Fault
    method: str | None
    path_contains: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


class FaultyUpstream:
    def __init__(self, target: str | None = None, host: str = "127.0.0.1") -> None:
        self.target = target.rstrip("/") if target else None
        self.host = host
        self.port = 0
        self.store = MessageStore()
        self.requests: list[Seen] = []
        self._queue: list[_Queued] = []
        self._random: tuple[random.Random, float, Sequence[Fault]] | None = None
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._proxy: aiohttp.ClientSession | None = None

    # -- control --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def enqueue(self, *faults: Fault, method: str | None = None, path: str | None = None) -> None:
        """Serve these faults, in order, to the next requests matching method / path part."""
        self._queue.extend(_Queued(f, method, path) for f in faults)

    def randomly(self, rng: random.Random, rate: float, faults: Sequence[Fault]) -> None:
        """After the queue, serve a random fault from ``faults`` to a ``rate`` share of requests."""
        self._random = (rng, rate, tuple(faults))

    def pending(self) -> int:
        return len(self._queue)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and (path is None or path in r.path)
        )

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await self.start_listening()
        if self.target:
            self._proxy = aiohttp.ClientSession(auto_decompress=False)
        return self

    async def stop_listening(self) -> None:
        """New connections are refused from now on (connections already open live on)."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def start_listening(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        server = self._site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._closing.set()
        if self._proxy is not None:
            await self._proxy.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- serving --------------------------------------------------------------------------

    def _next_fault(self, method: str, path: str) -> Fault:
        for i, queued in enumerate(self._queue):
            if queued.matches(method, path):
                del self._queue[i]
                return queued.fault
        if self._random is not None:
            rng, rate, faults = self._random
            if rng.random() < rate:
                return rng.choice(faults)
        return PASS

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        form = MultiDict(await request.post()) if request.method == "POST" else None
        fault = self._next_fault(request.method, request.path)
        self.requests.append(
            Seen(request.method, request.path, MultiDict(request.query), form, fault.kind,
                 {k: v for k, v in request.headers.items()})
        )
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind in ("status", "bare_status", "html") and not fault.process:
            code, answer = fault.status, b""
        elif fault.process or fault.kind == "pass":
            code, answer = await self._backend(request, form)
        else:
            code, answer = 200, b"{}"
        return await self._apply(fault, request, code, answer)

    async def _backend(
        self, request: web.Request, form: MultiDict[str] | None
    ) -> tuple[int, bytes]:
        if self.target:
            assert self._proxy is not None
            async with self._proxy.request(
                request.method,
                self.target + request.path_qs,
                data=form,
                headers={k: v for k, v in request.headers.items() if k.lower() == "authorization"},
                allow_redirects=False,
            ) as resp:
                return resp.status, await resp.read()
        parts = request.path.split("/")
        # /2010-04-01/Accounts/{sid}/Messages.json | /Messages/{sid}.json
        if len(parts) < 5 or parts[2] != "Accounts":
            return 404, json.dumps(twilio_error(20404, "Not found", 404)).encode()
        account = parts[3]
        if request.method == "POST" and parts[4:] == ["Messages.json"]:
            code, data = self.store.create(account, form or MultiDict())
        elif request.method == "GET" and parts[4:] == ["Messages.json"]:
            code, data = self.store.list(account, MultiDict(request.query))
        elif request.method == "GET" and len(parts) == 6 and parts[4] == "Messages":
            code, data = self.store.fetch(account, parts[5].removesuffix(".json"))
        else:
            code, data = 404, twilio_error(20404, "Not found", 404)
        return code, json.dumps(data).encode()

    async def _apply(
        self, fault: Fault, request: web.Request, code: int, answer: bytes
    ) -> web.StreamResponse:
        kind = fault.kind
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if kind == "pass":
            return web.Response(status=code, body=answer, content_type="application/json")
        if kind == "status":
            err_code, message = _ERROR_MESSAGES.get(fault.status, (20500, "Error"))
            return web.json_response(
                twilio_error(err_code, message, fault.status), status=fault.status, headers=headers
            )
        if kind == "bare_status":
            return web.Response(status=fault.status, headers=headers)
        if kind == "html":
            page = f"<html><body><h1>{fault.status} Server Error</h1></body></html>"
            return web.Response(status=fault.status, text=page, content_type="text/html")
        if kind == "non_json":
            return web.Response(status=200, text="OK", content_type="text/plain")
        if kind == "truncated_json":
            return web.Response(
                status=code, body=answer[: len(answer) // 2], content_type="application/json"
            )
        if kind == "reset_before":
            return await self._reset(request)
        if kind == "reset_mid_body":
            resp = web.StreamResponse(status=code)
            resp.content_type = "application/json"
            resp.content_length = len(answer)
            await resp.prepare(request)
            await resp.write(answer[: len(answer) // 2])
            return await self._reset(request)
        if kind == "too_large":
            return await self._stream_large(request, fault)
        if kind == "hang":
            await self._closing.wait()
            return web.Response(status=503)
        if kind == "hang_after_headers":
            resp = web.StreamResponse(status=code)
            resp.content_type = "application/json"
            resp.content_length = len(answer)
            await resp.prepare(request)
            await self._closing.wait()
            return resp
        raise AssertionError(f"unknown fault {kind}")

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # Linger 0: close() sends RST instead of FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        raise asyncio.CancelledError  # nothing more can be written; end the handler quietly

    async def _stream_large(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json"
        if fault.declared:
            resp.content_length = fault.size
        await resp.prepare(request)
        chunk = b" " * 65536
        sent = 0
        try:
            while sent < fault.size:
                piece = chunk[: fault.size - sent]
                await resp.write(piece)
                sent += len(piece)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            return resp  # the client stopped reading, as it should
        await resp.write_eof()
        return resp


def refused_url() -> str:
    """A local address where nothing listens: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def with_delay(fault: Fault, seconds: float) -> Fault:
    return replace(fault, delay=seconds)
