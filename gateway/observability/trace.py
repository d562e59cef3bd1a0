"""Hooks on the passthrough's upstream ClientSession: upstream latency and status into the
metrics and into the current request's observation, and the request id propagated upstream.

The legacy dialects' :class:`~gateway.upstream.http.UpstreamClient` does the same itself (its
session has no trace configs: aiohttp's tracing costs a few objects and awaits per request).

Upstream gets ``X-Request-Id`` only. ``I-Twilio-Idempotency-Token`` is not invented or forwarded
to the REST API: Twilio sets it on the webhooks it sends, to let receivers de-duplicate its own
retries; a token of our making would carry no such meaning.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp

from gateway.observability import context
from gateway.observability.metrics import Metrics


def upstream_trace_config(metrics: Metrics) -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()

    async def on_start(
        session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        ctx.started = asyncio.get_running_loop().time()
        obs = context.current.get()
        if obs is not None and context.REQUEST_ID_HEADER not in params.headers:
            params.headers[context.REQUEST_ID_HEADER] = obs.request_id

    def finish(ctx: SimpleNamespace, method: str, status: int | None) -> None:
        seconds = asyncio.get_running_loop().time() - ctx.started
        metrics.observe_upstream(method, status, seconds)
        obs = context.current.get()
        if obs is not None:
            obs.upstream_requests += 1
            obs.upstream_seconds += seconds
            obs.upstream_status = status

    async def on_end(
        session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        finish(ctx, params.method, params.response.status)

    async def on_exception(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        finish(ctx, params.method, None)

    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace
