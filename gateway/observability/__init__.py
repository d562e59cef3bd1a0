"""Operations: health and readiness, Prometheus metrics, structured access logs, request ids.

:func:`setup` installs all of it on a gateway app; the server flips :class:`DrainState` to
draining on SIGTERM. Other modules use :func:`metrics.callback_outcome` and
:func:`metrics.register_cache`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from gateway.config import Settings
from gateway.observability.health import (
    DRAIN_STATE,
    PROBE,
    DrainState,
    UpstreamProbe,
    healthz,
    readyz,
)
from gateway.observability.metrics import (
    METRICS,
    Metrics,
    activate,
    deactivate,
    metrics_handler,
)
from gateway.observability.middleware import make_middleware
from gateway.observability.trace import upstream_trace_config

__all__ = ["DRAIN_STATE", "METRICS", "DrainState", "setup", "trace_configs", "upstream_observer"]


async def _process_default_ctx(app: web.Application) -> AsyncIterator[None]:
    activate(app[METRICS])
    yield
    deactivate(app[METRICS])


def setup(app: web.Application, settings: Settings, upstream_url: str) -> None:
    """Install the middleware (outermost), /healthz, /readyz and /metrics on ``app``."""
    metrics = Metrics()
    app[METRICS] = metrics
    lifecycle = app[DRAIN_STATE] = DrainState()
    app[PROBE] = UpstreamProbe(
        upstream_url, settings.upstream_connect_timeout, settings.readiness_cache
    )
    app.middlewares.insert(0, make_middleware(settings, metrics, lifecycle))
    app.cleanup_ctx.append(_process_default_ctx)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)


def trace_configs(app: web.Application) -> list[aiohttp.TraceConfig]:
    """For the passthrough's upstream ClientSession: latency metrics and request-id
    propagation."""
    return [upstream_trace_config(app[METRICS])]


def upstream_observer(app: web.Application) -> Callable[[str, int | None, float], None]:
    """For :class:`~gateway.upstream.http.UpstreamClient`: every attempt's latency and status
    into the metrics (the client itself adds them to the request's observation)."""
    return app[METRICS].observe_upstream
