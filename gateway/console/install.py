"""Installing the console's parts on a gateway app: the ledger (an answer hook and a flush
task), the sunset headers, the relay log of the sandbox view and the /console/ routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway import reqctx
from gateway.config import Settings
from gateway.console import routes, sunset
from gateway.console.keys import CONSOLE, ConsoleState, Relay
from gateway.console.ledger import Ledger
from gateway.console.metrics import LedgerMetrics
from gateway.observability import ANSWER_HOOKS, METRICS
from gateway.sandbox.service import Sandbox
from gateway.state.base import StateStore
from gateway.state.memory import MemoryStore

_RELAYED = frozenset({"callback", "inbound"})


def _store(app: web.Application) -> StateStore:
    # Until the app opens the configured shared store, the ledger keeps one of its own in the
    # process (memory://): every replica then shows only its own traffic.
    return MemoryStore()


async def _flush_ctx(app: web.Application) -> AsyncIterator[None]:
    ledger = app[CONSOLE].ledger
    assert ledger is not None  # registered only with a ledger
    task = asyncio.create_task(ledger.run())
    yield
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
        if self.state.sandbox is None or ctx.get(reqctx.DIALECT) not in _RELAYED:
            return
        self.state.relays.append(
            Relay(
                datetime.now(UTC).timestamp(), str(ctx.get(reqctx.OPERATION) or ""),
                str(ctx.get(reqctx.ACCOUNT_SID) or "-"), status,
            )
        )


def setup(app: web.Application, settings: Settings) -> ConsoleState:
    """Install the console on the gateway ``app`` (after observability.setup)."""
    today = datetime.now(UTC).date()
    store = _store(app)
    ledger = None
    if settings.ledger:
        metrics = LedgerMetrics(app[METRICS].registry)
        ledger = Ledger(store, settings, on_flush=metrics.on_flush)
    state = app[CONSOLE] = ConsoleState(settings, store, ledger, today)
    hooks = app[ANSWER_HOOKS]
    if ledger is not None:
        hooks.append(ledger.observe)
        app.cleanup_ctx.append(_flush_ctx)
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


def mount_on_ops_port(ops_app: web.Application, gateway_app: web.Application | None) -> None:
    """With --console-on-ops-port: the console on the operations (metrics) app instead."""
    if gateway_app is None or CONSOLE not in gateway_app:
        return
    state = gateway_app[CONSOLE]
    if state.settings.console_token and state.settings.console_on_ops_port:
        routes.mount(ops_app, state)
