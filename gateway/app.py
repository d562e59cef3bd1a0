"""The gateway's aiohttp application: settings, one upstream session, the dialects' routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway import budget, observability
from gateway.config import Settings
from gateway.guard import guard
from gateway.observability.caches import (
    register_callback_dedup,
    register_paging_caches,
    register_translation_caches,
)
from gateway.paging import Paginator
from gateway.state import service as state_service
from gateway.state.base import StateStore
from gateway.upstream.base import Upstream
from gateway.upstream.limit import BoundedUpstreamClient
from gateway.upstream.messages import MessagesUpstream
from gateway.upstream.retry import RetryPolicy
from gateway.upstream.sms2010 import Sms2010Upstream

SETTINGS = web.AppKey("settings", Settings)
UPSTREAM = web.AppKey("upstream", Upstream)
UPSTREAM_URL = web.AppKey("upstream_url", str)
# The upstream session for code that forwards raw HTTP (the current-API passthrough).
UPSTREAM_SESSION = web.AppKey("upstream_session", aiohttp.ClientSession)


async def _upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    timeout = aiohttp.ClientTimeout(
        total=settings.upstream_timeout, sock_connect=settings.upstream_connect_timeout
    )
    # The legacy dialects' client keeps its own keep-alive pool (gateway.upstream.transport);
    # the passthrough forwards raw requests through aiohttp's client and its trace hooks.
    # No cookie jar: upstream cookies set for one client's request must never ride along on
    # another client's (the gateway serves many accounts over one pool).
    connector = aiohttp.TCPConnector(limit=settings.upstream_max_connections)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, raise_for_status=False,
        cookie_jar=aiohttp.DummyCookieJar(), trace_configs=observability.trace_configs(app),
    ) as passthrough_session, BoundedUpstreamClient(
        app[UPSTREAM_URL],
        max_concurrency=settings.upstream_max_concurrency,
        max_wait=settings.upstream_timeout,
        max_connections=settings.upstream_max_connections,
        policy=RetryPolicy.from_settings(settings),
        observer=observability.upstream_observer(app),
    ) as client:
        app[UPSTREAM_SESSION] = passthrough_session
        if settings.upstream_api == "sms2010":
            app[UPSTREAM] = Sms2010Upstream(client)
        else:
            paginator = Paginator(settings, store=_paging_store(app))
            register_paging_caches(app, paginator)
            app[UPSTREAM] = MessagesUpstream(client, paginator)
        try:
            yield
        finally:
            if isinstance(app[UPSTREAM], MessagesUpstream):
                await paginator.close()


def _paging_store(app: web.Application) -> StateStore:
    """The state store the paging index lives in (shared by replicas with a redis:// store);
    opened before this context (see create_app)."""
    return app[state_service.STATE_STORE]


def create_app(settings: Settings, upstream_url: str | None = None) -> web.Application:
    """Build the gateway. ``upstream_url`` overrides the configured one (the embedded sandbox
    passes its own address this way)."""
    from gateway import passthrough
    from gateway.callbacks import routes as callback_routes
    from gateway.dialects.sms2010 import routes as sms2010_routes
    from gateway.dialects.v2008 import routes as v2008_routes

    app = web.Application(
        client_max_size=settings.max_request_body,
        middlewares=[guard, budget.make_middleware(settings.upstream_timeout)],
    )
    app[SETTINGS] = settings
    app[UPSTREAM_URL] = upstream_url or settings.upstream_url
    observability.setup(app, settings, app[UPSTREAM_URL])
    state_service.setup(app, settings)
    # After the state store's context: the paging index lives in the store, and background
    # counts stop before the store closes.
    app.cleanup_ctx.append(_upstream_ctx)
    v2008_routes.setup(app)
    sms2010_routes.setup(app)
    passthrough.setup(app)  # after sms2010: its /2010-04-01/ catch-all must match last
    callback_routes.setup(app)
    register_callback_dedup(app, app[callback_routes.CALLBACKS].reported)
    register_translation_caches(app)
    return app
