"""Prometheus metrics of one gateway app.

Each app owns a :class:`CollectorRegistry` (tests build many apps in one process, and two apps
must not count into each other). With several worker processes, prometheus-client's
multiprocess mode is used instead: the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` before the
workers start, every worker writes its samples there, and any scrape, on any worker or on the
supervisor's metrics port, aggregates all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway import keys

PREFIX = "sms_gateway"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Legacy lists cost 1 upstream request per page walked plus the total walk.
_UPSTREAM_PER_LIST_BUCKETS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500)


@dataclass(frozen=True, slots=True)
class _CacheSource:
    size: Callable[[], float]
    hits: Callable[[], float] | None
    misses: Callable[[], float] | None


class _CacheCollector(Collector):
    """Reads the registered caches' gauge functions at scrape time."""

    def __init__(self) -> None:
        self.sources: dict[str, _CacheSource] = {}

    def collect(self) -> Iterable[Metric]:
        entries = GaugeMetricFamily(
            f"{PREFIX}_cache_entries", "Entries held by a gateway cache.", labels=["cache"]
        )
        hits = CounterMetricFamily(
            f"{PREFIX}_cache_hits", "Lookups a gateway cache answered.", labels=["cache"]
        )
        misses = CounterMetricFamily(
            f"{PREFIX}_cache_misses", "Lookups a gateway cache could not answer.", labels=["cache"]
        )
        ratio = GaugeMetricFamily(
            f"{PREFIX}_cache_hit_ratio",
            "Hits / (hits + misses) of a gateway cache since start.",
            labels=["cache"],
        )
        for name, src in sorted(self.sources.items()):
            entries.add_metric([name], float(src.size()))
            if src.hits is None or src.misses is None:
                continue
            h, m = float(src.hits()), float(src.misses())
            hits.add_metric([name], h)
            misses.add_metric([name], m)
            ratio.add_metric([name], h / (h + m) if h + m else 0.0)
        yield from (entries, hits, misses, ratio)


class Metrics:
    """The gateway's metric families, registered in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Requests served, by legacy dialect, operation, HTTP status and Twilio error code.",
            ["dialect", "operation", "status", "twilio_code"],
            registry=r,
        )
        self.request_seconds = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time to answer a request, upstream time included.",
            ["dialect", "operation"],
            registry=r,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_requests_in_flight",
            "Requests being served now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.upstream_seconds = Histogram(
            f"{PREFIX}_upstream_request_duration_seconds",
            "Time from sending an upstream request to its response headers, by method and "
            "status ('error' when no answer came).",
            ["method", "status"],
            registry=r,
        )
        self.upstream_per_list = Histogram(
            f"{PREFIX}_upstream_requests_per_list",
            "Upstream requests one legacy list request cost (page walk plus total walk).",
            ["dialect"],
            buckets=_UPSTREAM_PER_LIST_BUCKETS,
            registry=r,
        )
        self.callbacks = Counter(
            f"{PREFIX}_callback_relays",
            "Status callbacks and inbound webhooks relayed to legacy apps, by kind and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.caches = _CacheCollector()
        r.register(self.caches)
        # ``labels(...)`` validates and locks on every call; the label sets in use are few
        # (dialect x operation x status x code), so their children are kept here.
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: MetricWrapperBase, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe_request(self, ctx: Mapping[Any, Any], status: int, seconds: float) -> None:
        """One answered request; ``ctx`` holds the request's :mod:`gateway.keys` figures."""
        dialect = str(ctx.get(keys.DIALECT) or "none")
        operation = str(ctx.get(keys.OPERATION) or "none")
        code = ctx.get(keys.TWILIO_CODE)
        self._child(self.requests, dialect, operation, str(status), str(code or "")).inc()
        self._child(self.request_seconds, dialect, operation).observe(seconds)

    def observe_list(self, dialect: str, upstream_requests: int) -> None:
        self._child(self.upstream_per_list, dialect).observe(upstream_requests)

    def observe_upstream(self, method: str, status: int | None, seconds: float) -> None:
        self._child(self.upstream_seconds, method, str(status or "error")).observe(seconds)


def render(metrics: Metrics | None) -> bytes:
    """The exposition text: the app's registry, or every worker's samples in multiprocess mode
    (the cache gauges then describe the worker that answers the scrape)."""
    if not os.environ.get(MULTIPROC_ENV):
        if metrics is None:
            raise RuntimeError("no metrics to render outside multiprocess mode")
        return generate_latest(metrics.registry)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    if metrics is not None:
        registry.register(metrics.caches)
    return generate_latest(registry)


METRICS = web.AppKey("metrics", Metrics)

# Outside a request (whose observation names its app's metrics), the last app started in this
# process is used.
_process_default: list[Metrics] = []


def _resolve(target: web.Application | Metrics | None) -> Metrics | None:
    if isinstance(target, Metrics):
        return target
    if target is not None:
        return target.get(METRICS)
    return _process_default[-1] if _process_default else None


def callback_outcome(
    kind: str, outcome: str, app: web.Application | Metrics | None = None
) -> None:
    """Count one relayed callback. ``kind``: e.g. 'status_callback' or 'inbound_sms';
    ``outcome``: e.g. 'delivered', 'legacy_error', 'unreachable', 'duplicate', 'bad_signature'.
    Keep both to small fixed sets: every distinct pair is a time series."""
    metrics = _resolve(app)
    if metrics is not None:
        metrics.callbacks.labels(kind, outcome).inc()


def register_cache(
    target: web.Application | Metrics,
    name: str,
    size: Callable[[], float],
    hits: Callable[[], float] | None = None,
    misses: Callable[[], float] | None = None,
) -> None:
    """Expose a cache as sms_gateway_cache_entries / _hits_total / _misses_total / _hit_ratio
    with label cache=name. The functions are called at scrape time and must be cheap."""
    metrics = _resolve(target)
    if metrics is None:
        raise LookupError("register_cache: the app has no metrics (observability.setup not run)")
    metrics.caches.sources[name] = _CacheSource(size, hits, misses)


def activate(metrics: Metrics) -> None:
    _process_default.append(metrics)


def deactivate(metrics: Metrics) -> None:
    if metrics in _process_default:
        _process_default.remove(metrics)


async def metrics_handler(request: web.Request) -> web.Response:
    request[keys.DIALECT] = "ops"
    request[keys.OPERATION] = "metrics"
    body = render(request.app.get(METRICS))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_metrics_app(metrics: Metrics | None) -> web.Application:
    """A bare app serving only /metrics, for the separate metrics port (``None``: the
    supervisor's, aggregating the workers' samples)."""
    app = web.Application()
    if metrics is not None:
        app[METRICS] = metrics
    app.router.add_get("/metrics", metrics_handler)
    return app
