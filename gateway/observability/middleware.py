"""One middleware for every request: request id, access log line, request metrics.

It is the outermost middleware, so it sees the status the client finally gets, and it reads the
:mod:`gateway.keys` keys the handlers set (dialect, operation, account, Twilio code). Upstream
figures come by one channel only: the request's :class:`~gateway.observability.context.Observation`,
which the upstream client and the passthrough's trace hooks add every upstream call to.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway import keys
from gateway.config import Settings
from gateway.errors import CLIENT_CLOSED
from gateway.observability import context
from gateway.observability import metrics as metrics_mod
from gateway.observability.health import DrainState
from gateway.observability.logs import ACCESS_LOGGER, loggable_path, loggable_query

access_log = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger("gateway.observability")

# Probes and scrapes arrive every few seconds; they are logged at DEBUG only.
_QUIET_DIALECT = "ops"


def _upstream(obs: context.Observation) -> tuple[int | None, float | None, int]:
    """Upstream status, seconds and request count, as the upstream client and the passthrough's
    trace hooks recorded them on the request's observation (the one channel for them)."""
    if not obs.upstream_requests:
        return obs.upstream_status, None, 0
    return obs.upstream_status, float(obs.upstream_seconds), obs.upstream_requests


def _log_access(
    request: web.Request,
    ctx: Mapping[Any, Any],
    obs: context.Observation,
    level: int,
    status: int,
    seconds: float,
    up: tuple[int | None, float | None, int],
    mask: bool,
) -> None:
    up_status, up_seconds, up_count = up
    path = loggable_path(request.path, mask)
    access = {
        "request_id": obs.request_id,
        "method": request.method,
        "path": path,
        "query": loggable_query(request.rel_url.query, mask),
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "dialect": ctx.get(keys.DIALECT),
        "operation": ctx.get(keys.OPERATION),
        "account_sid": ctx.get(keys.ACCOUNT_SID),
        "twilio_code": ctx.get(keys.TWILIO_CODE),
        "upstream_status": up_status,
        "upstream_ms": None if up_seconds is None else round(up_seconds * 1000, 2),
        "upstream_requests": up_count,
        "remote": request.remote,
    }
    # makeRecord + handle is Logger.log without its caller lookup (a stack walk per line for
    # file and line fields no formatter here prints). "masked": the message is built from
    # masked parts, so the number-masking filter need not scan it again.
    record = access_log.makeRecord(
        ACCESS_LOGGER, level, "", 0, "%s %s %d", (request.method, path, status), None,
        extra={"access": access, "masked": mask},
    )
    access_log.handle(record)


def make_middleware(
    settings: Settings,
    metrics: metrics_mod.Metrics,
    lifecycle: DrainState,
    hooks: list[keys.AnswerHook] | None = None,
) -> Middleware:
    mask = settings.log_mask_numbers
    answer_hooks = hooks if hooks is not None else []

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        obs = context.Observation(context.choose_request_id(request.headers), metrics)
        request[context.REQUEST_ID] = obs.request_id
        obs_token = context.current.set(obs)
        metrics.in_flight.inc()
        lifecycle.request_started()
        status = 500
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            status = response.status
            # Set here rather than in on_response_prepare: a signal makes aiohttp await a hook
            # on every response. Every handler's answer, errors included (the guard renders
            # them), passes through this middleware unprepared.
            response.headers[context.REQUEST_ID_HEADER] = obs.request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[context.REQUEST_ID_HEADER] = obs.request_id
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED  # the client left; its handler was cancelled
            raise
        finally:
            metrics.in_flight.dec()
            lifecycle.request_finished()
            seconds = time.perf_counter() - started
            # The handlers' request-key figures, copied once: a request's own get() raises and
            # catches a KeyError for every key a handler did not set.
            ctx = dict(request)
            for hook in answer_hooks:  # keys.ANSWER_HOOKS: the console's ledger, sunset headers
                try:
                    hook(request, ctx, status, response)
                except Exception:  # a hook's bug must not cost the client its answer
                    log.exception("answer hook %r failed", hook)
            metrics.observe_request(ctx, status, seconds)
            up = _upstream(obs)
            dialect = ctx.get(keys.DIALECT)
            if up[2] and ctx.get(keys.OPERATION) == "list":
                metrics.observe_list(str(dialect or "none"), up[2])
            level = logging.DEBUG if dialect == _QUIET_DIALECT else logging.INFO
            if access_log.isEnabledFor(level):
                _log_access(request, ctx, obs, level, status, seconds, up, mask)
            context.current.reset(obs_token)

    return observe

