"""The gateway's root aiohttp application: settings and the upstream clients (in
:mod:`gateway.keys`), the outer middlewares (cancellation, observability, guard, early limits),
one sub-application per legacy prefix, and the callback endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway import cancellation, early_limits, observability
from gateway.callbacks import routes as callback_routes
from gateway.config import Settings
from gateway.console import install as console
from gateway.dialects.sms2010 import routes as sms2010_routes
from gateway.dialects.v2008 import routes as v2008_routes
from gateway.guard import guard
from gateway.keys import CALLBACKS, SETTINGS, UPSTREAM, UPSTREAM_SESSION, UPSTREAM_URL
from gateway.observability.caches import (
    register_callback_dedup,
    register_paging_caches,
    register_translation_caches,
)
from gateway.paging import Paginator
from gateway.state import service as state_service
from gateway.state.base import StateStore
from gateway.upstream.concurrency import BoundedUpstreamClient
from gateway.upstream.messages import MessagesUpstream
from gateway.upstream.retry import RetryPolicy
from gateway.upstream.sms2010 import Sms2010Upstream

__all__ = ["SETTINGS", "UPSTREAM", "UPSTREAM_SESSION", "UPSTREAM_URL", "create_app"]


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
    # The sub-applications' request budget runs inside these, so every legacy request passes
    # guard, then the early 413, then the budget.
    app = web.Application(
        client_max_size=settings.max_request_body,
        middlewares=[guard, early_limits.refuse_oversized_bodies],
    )
    app[SETTINGS] = settings
    app[UPSTREAM_URL] = upstream_url or settings.upstream_url
    observability.setup(app, settings, app[UPSTREAM_URL])
    # Outermost, around the access log: a shielded send is logged and counted in flight (the
    # drain waits for it) until it has finished, whether or not its client is still there.
    app.middlewares.insert(0, cancellation.shield_unsafe)
    state_service.setup(app, settings)
    # After the state store's context: the paging index lives in the store, and background
    # counts stop before the store closes.
    app.cleanup_ctx.append(_upstream_ctx)
    # Each legacy prefix is its own sub-application, with its own error shape and budget.
    app.add_subapp(v2008_routes.PREFIX, v2008_routes.create_app(settings))
    app.add_subapp(sms2010_routes.PREFIX, sms2010_routes.create_app(settings))
    callback_routes.setup(app)
    register_callback_dedup(app, app[CALLBACKS].reported)
    console.setup(app, settings)
    register_translation_caches(app)
    return app
