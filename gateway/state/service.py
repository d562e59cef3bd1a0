"""The state store of one gateway process: opened once when the app starts (one connection
pool per process), closed when it stops, watched for /readyz and the metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gateway import keys
from gateway.config import Settings
from gateway.observability.metrics import METRICS
from gateway.observability.store import register_store_metrics
from gateway.state.base import StoreUnavailable
from gateway.state.monitor import Monitored, StoreMonitor, watch_while_down
from gateway.state.open import open_store
from gateway.state.url import mask_url, scheme_of

log = logging.getLogger("gateway.state")

# Where the app holds its store (gateway/keys.py), under the name its users import from here.
STATE_STORE = keys.STATE_STORE

# Seconds between pings while the store is down (the monitor's view recovers without traffic).
_DOWN_CHECK_INTERVAL = 1.0


def setup(app: web.Application, settings: Settings) -> None:
    """Declare the store on ``app`` (after observability.setup: it adds metrics); the store
    itself opens in the cleanup context, before the first request."""
    kind = "memory" if scheme_of(settings.state_url) == "memory" else "redis"
    monitor = app[keys.STORE_MONITOR] = StoreMonitor(mask_url(settings.state_url), kind)
    register_store_metrics(app[METRICS], monitor)

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        store = Monitored(
            open_store(
                settings.state_url, prefix=settings.state_key_prefix,
                timeout=settings.state_timeout,
            ),
            monitor,
        )
        app[STATE_STORE] = monitor.store = store
        log.info("state store: %s", monitor.name)
        # Say at once (log, gauge) if the store is down; the gateway serves regardless.
        with contextlib.suppress(StoreUnavailable):
            await store.ping()
        watcher = asyncio.create_task(watch_while_down(store, monitor, _DOWN_CHECK_INTERVAL))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            monitor.store = None
            await store.close()

    app.cleanup_ctx.append(store_ctx)
