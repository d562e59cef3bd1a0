"""The sandbox's aiohttp application.

``create_sandbox_app(settings)`` builds it; tests reach its parts through the typed keys
re-exported here (``app[STORE].seed(...)``, ``app[REQUEST_LOG]``, ``app[CLOCK].tick = 0``,
``await app[LIFECYCLE].settle()``, ``app[WEBHOOKS].deliveries``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from gateway.config import Settings
from gateway.destination_policy import checked_connector
from gateway.model import ApiError
from gateway.sandbox.accounts import Accounts
from gateway.sandbox.api import inbound, messages, numbers, sms2010
from gateway.sandbox.bulk import LATENCY, Latency, latency_middleware, parse_seed, seed_account
from gateway.sandbox.clock import SandboxClock
from gateway.sandbox.keys import (
    CLOCK,
    LIFECYCLE,
    NUMBERS,
    REQUEST_LOG,
    SANDBOX,
    STORE,
    WEBHOOKS,
)
from gateway.sandbox.phone_numbers import PhoneNumbers
from gateway.sandbox.render import error_json
from gateway.sandbox.requestlog import ReceivedRequest, RequestLog
from gateway.sandbox.service import Sandbox
from gateway.sandbox.store import MessageStore
from gateway.sandbox.webhooks import WebhookSender

__all__ = [
    "CLOCK",
    "LIFECYCLE",
    "NUMBERS",
    "REQUEST_LOG",
    "SANDBOX",
    "STORE",
    "WEBHOOKS",
    "create_sandbox_app",
]

log = logging.getLogger("gateway.sandbox")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=10, sock_connect=5)
_LOGGED_PREFIXES = ("/2010-04-01/", "/sandbox/")


def error_response(err: ApiError) -> web.Response:
    return web.json_response(error_json(err), status=err.status, headers=err.headers)


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return ApiError(404, f"The requested resource {request.path} was not found", 20404)
    if exc.status == 405:
        allow = exc.headers.get("Allow", "")
        return ApiError(
            405, f"Method {request.method} not allowed on this resource", 20004,
            headers={"Allow": allow} if allow else None,
        )
    if exc.status == 413:
        return ApiError(413, "The request body is too large", None)
    return ApiError(exc.status, exc.reason, None)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure answers in Twilio's JSON error shape; nothing escapes as a traceback."""
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err = _from_http_exception(request, exc)
        return error_response(err)
    except Exception:
        log.exception("sandbox handler failed: %s %s", request.method, request.path)
        return error_response(ApiError(500, "Internal sandbox error", 20500))


@web.middleware
async def record_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keep what the request asked for (never its credentials) and log one line per request
    (no query: it can carry phone numbers; no body)."""
    if request.path.startswith(_LOGGED_PREFIXES):
        form: tuple[tuple[str, str], ...] = ()
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"
        ):
            try:
                data = await request.post()
                form = tuple((k, v) for k, v in data.items() if isinstance(v, str))
            except (ValueError, LookupError):  # LookupError: an unknown charset
                pass  # the handler answers the bad form
        request.app[REQUEST_LOG].append(
            ReceivedRequest(request.method, request.path, tuple(request.query.items()), form)
        )
    response = await handler(request)
    log.info("%s %s -> %d", request.method, request.path, response.status)
    return response


async def _webhook_session(app: web.Application) -> AsyncIterator[None]:
    sender = app[WEBHOOKS]
    # The sandbox calls the URLs its clients give, from the host it runs on: loopback and
    # private networks are its daily work (the gateway's relay), cloud metadata never.
    connector = checked_connector(allow_private=True)
    async with aiohttp.ClientSession(timeout=WEBHOOK_TIMEOUT, connector=connector) as session:
        sender.session = session
        try:
            yield
        finally:
            # Stop progressions before the session they call back through goes away.
            await app[LIFECYCLE].close()
            sender.session = None


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_sandbox_app(
    settings: Settings | None = None,
    *,
    tick: float | None = None,
    manual: bool = False,
    max_messages: int | None = None,
    request_log_size: int = 1000,
) -> web.Application:
    """Build the sandbox. ``tick``, ``manual`` and ``max_messages`` override the settings for
    one instance (tests); the clock can also be changed later through ``app[CLOCK]``."""
    settings = settings or Settings()
    clock = SandboxClock(settings.sandbox_tick if tick is None else tick, manual=manual)
    store = MessageStore(
        max_messages if max_messages is not None else settings.sandbox_max_messages,
        now=clock.now,
    )
    sandbox = Sandbox(
        store=store,
        accounts=Accounts(),
        clock=clock,
        numbers=PhoneNumbers(),
        sender=WebhookSender(),
        request_log=RequestLog(request_log_size),
    )
    app = web.Application(middlewares=[errors_middleware, record_middleware, latency_middleware])
    app[LATENCY] = Latency(settings.sandbox_latency)
    for account_sid, count in parse_seed(settings.sandbox_seed):
        seed_account(store, account_sid, count, end=clock.now())
    app[SANDBOX] = sandbox
    app[STORE] = store
    app[REQUEST_LOG] = sandbox.request_log
    app[CLOCK] = clock
    app[LIFECYCLE] = sandbox.lifecycle
    app[WEBHOOKS] = sandbox.sender
    app[NUMBERS] = sandbox.numbers
    app.cleanup_ctx.append(_webhook_session)
    app.router.add_get("/healthz", healthz)
    messages.setup(app.router)
    sms2010.setup(app.router)
    numbers.setup(app.router)
    inbound.setup(app.router)
    return app
