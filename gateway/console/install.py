"""Installing the console's parts on a gateway app: the ledger (an answer hook and a flush
task), the sunset headers, the relay log of the sandbox view and the /console/ routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.config import Settings
from gateway.console import routes, sunset
from gateway.console.ledger import Ledger
from gateway.console.metrics import LedgerMetrics
from gateway.console.state import ConsoleState, Relay
from gateway.keys import ANSWER_HOOKS, CONSOLE, STATE_STORE
from gateway.observability import METRICS
from gateway.sandbox.service import Sandbox

log = logging.getLogger("gateway.console")

_RELAYED = frozenset({"callback", "inbound"})


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    """The process's state store (opened by gateway.state.service's context, which runs
    first) for the console and the ledger, and the ledger's flush task."""
    state = app[CONSOLE]
    state.store = app[STATE_STORE]
    task = None
    if state.ledger is not None:
        state.ledger.store = state.store
        task = asyncio.create_task(state.ledger.run())
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class _RelayLog:
    """Remembers the callbacks and webhooks the gateway relayed (for the sandbox view)."""

    def __init__(self, state: ConsoleState) -> None:
        self.state = state

    def __call__(
        self,
        request: web.Request,
        ctx: Mapping[Any, Any],
        status: int,
        response: web.StreamResponse | None,
    ) -> None:
        if self.state.sandbox is None or ctx.get(keys.DIALECT) not in _RELAYED:
            return
        self.state.relays.append(
            Relay(
                datetime.now(UTC).timestamp(), str(ctx.get(keys.OPERATION) or ""),
                str(ctx.get(keys.ACCOUNT_SID) or "-"), status,
            )
        )


def setup(app: web.Application, settings: Settings) -> ConsoleState:
    """Install the console on the gateway ``app`` (after observability.setup and
    gateway.state.service.setup)."""
    today = datetime.now(UTC).date()
    ledger = None
    if settings.ledger:
        metrics = LedgerMetrics(app[METRICS].registry)
        ledger = Ledger(None, settings, on_flush=metrics.on_flush)
    state = app[CONSOLE] = ConsoleState(settings, None, ledger, today)
    app.cleanup_ctx.append(_store_ctx)
    hooks = app[ANSWER_HOOKS]
    if ledger is not None:
        hooks.append(ledger.observe)
    values = sunset.headers(settings, today)
    if values:
        hooks.append(sunset.SunsetHeaders(values))
    if settings.sandbox:
        hooks.append(_RelayLog(state))
    if settings.console_token and not settings.console_on_ops_port:
        routes.mount(app, state)
    return state


def attach_sandbox(app: web.Application, sandbox: Sandbox) -> None:
    """Show the embedded sandbox (same process) in the console."""
    app[CONSOLE].sandbox = sandbox


def mount_on_ops_port(
    ops_app: web.Application, gateway_app: web.Application | None, settings: Settings
) -> None:
    """With --console-on-ops-port: the console on the operations (metrics) app instead."""
    if not (settings.console_token and settings.console_on_ops_port):
        return
    if gateway_app is None or CONSOLE not in gateway_app:
        # The supervisor's operations port (--workers N) serves no gateway app.
        log.warning("the console is not served on the supervisor's operations port; "
                    "serve it on the main port (without --console-on-ops-port)")
        return
    routes.mount(ops_app, gateway_app[CONSOLE])
