"""Running the gateway and the sandbox as servers, one process each (the CLI's I/O side):
listening, and graceful drain on SIGTERM. Several worker processes are :mod:`gateway.supervisor`.

Drain, from the first SIGTERM (or SIGINT) on, all within ``drain_timeout`` seconds:

1. /readyz answers 503 at once, so load balancers and Kubernetes stop sending traffic;
2. for ``drain_delay`` seconds new requests are still served (endpoint removal takes a moment
   to propagate; a second signal cuts this short);
3. the listening sockets close (new connections are refused), idle keep-alive connections
   close, in-flight requests get the rest of the budget to finish, then are cancelled;
4. the upstream session and the embedded sandbox close and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from gateway import client_limits, pathnorm
from gateway.app import create_app
from gateway.config import Settings
from gateway.observability import DRAIN_STATE
from gateway.observability.metrics import METRICS, create_metrics_app
from gateway.sandbox.app import create_sandbox_app
from gateway.selfloop import warn_if_upstream_is_self
from gateway.tls import ReloadableContext

log = logging.getLogger("gateway.server")

# Time kept back from the drain budget for cancelling stragglers (aiohttp may wait its
# shutdown_timeout twice: for the handler, then after cancelling it) and closing the upstream
# session and the sandbox.
_STRAGGLER_TIMEOUT = 0.25
_CLEANUP_MARGIN = 1.0

T = TypeVar("T")


async def start_site(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout: float = 1.0,
    reuse_port: bool = False,
    limits: Settings | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[web.AppRunner, int]:
    extra = client_limits.handler_args(limits) if limits else {}
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout, **extra)
    await runner.setup()
    assert runner.server is not None
    # Twilio's tolerance of // and trailing / (docs/mapping.md): a rewrite before routing, as
    # no middleware can send a request to another sub-application once it is routed. Every
    # process that serves the gateway (alone or as a worker) and the sandbox starts here.
    pathnorm.install(runner.server)
    site: web.BaseSite
    if limits:  # the gateway's client limits (docs/reliability.md)
        site = client_limits.LimitedSite(
            runner, host, port, limits, reuse_port=reuse_port, ssl_context=ssl_context
        )
    else:
        site = web.TCPSite(
            runner, host, port, reuse_port=reuse_port or None, ssl_context=ssl_context
        )
    await site.start()
    server = site._server  # the bound port when 0 was asked for
    bound = server.sockets[0].getsockname()[1] if server and server.sockets else port
    return runner, bound


class Signals:
    """Counts SIGTERM/SIGINT: the first starts the drain, a second one hurries it."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.second = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._received, sig)
            except (NotImplementedError, RuntimeError):
                pass

    def _received(self, sig: signal.Signals) -> None:
        if self.first.is_set():
            self.second.set()
        else:
            log.info("received %s", sig.name)
            self.first.set()


async def _wait_or(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass


async def _stop_accepting(runner: web.AppRunner) -> None:
    """Close the listening sockets (new connections are refused) and ask keep-alive connections
    to close once their current request is answered."""
    for site in runner.sites:
        await site.stop()
    if runner.server is not None:
        runner.server.pre_shutdown()


async def serve_sandbox(settings: Settings) -> None:
    signals = Signals()
    runner, port = await start_site(create_sandbox_app(settings), settings.host, settings.port)
    # This process is the sandbox alone: what exists by now (modules, the app, the listening
    # site) lives as long as the process, so full collections need not scan it each time
    # (about 30 ms each, a quarter of one at 91,000 messages pending; docs/sandbox.md
    # "Performance"). The gateway's process is left as it is.
    gc.collect()
    gc.freeze()
    log.info("sandbox listening on http://%s:%d", settings.host, port)
    try:
        await signals.first.wait()
    finally:
        await runner.cleanup()


async def start_sandbox(settings: Settings) -> tuple[web.AppRunner, str]:
    runner, port = await start_site(create_sandbox_app(settings), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    log.info("embedded sandbox listening on %s", url)
    return runner, url


async def start_metrics_port(
    settings: Settings, app: web.Application | None
) -> web.AppRunner | None:
    if not settings.metrics_port:
        return None
    metrics = app[METRICS] if app is not None else None
    runner, port = await start_site(create_metrics_app(metrics), settings.host, settings.metrics_port)
    log.info("metrics on http://%s:%d/metrics", settings.host, port)
    return runner


def _tls_context(settings: Settings) -> ReloadableContext | None:
    """The listening port's TLS context, reloaded on SIGHUP (docs/deployment.md); None for
    plain HTTP. The pair was checked when the settings were loaded."""
    if not settings.tls_cert:
        return None
    tls = ReloadableContext(settings.tls_cert, settings.tls_key)
    tls.reload_on_sighup(asyncio.get_running_loop())
    return tls


async def serve_gateway(
    settings: Settings, upstream_url: str | None = None, reuse_port: bool = False
) -> None:
    """One gateway process. ``upstream_url`` and ``reuse_port`` are given by the supervisor to
    its workers."""
    signals = Signals()
    runners: list[web.AppRunner] = []
    try:
        if settings.sandbox and upstream_url is None:
            sandbox_runner, upstream_url = await start_sandbox(settings)
            runners.append(sandbox_runner)
        upstream_url = upstream_url or settings.upstream_url
        app = create_app(settings, upstream_url)
        tls = _tls_context(settings)
        runner, port = await start_site(
            app, settings.host, settings.port,
            shutdown_timeout=_STRAGGLER_TIMEOUT, reuse_port=reuse_port, limits=settings,
            ssl_context=tls.context if tls else None,
        )
        runners.append(runner)
        metrics_runner = await start_metrics_port(settings, app)
        if metrics_runner is not None:
            runners.append(metrics_runner)
        if not settings.sandbox:  # before the line below, which says start-up is over
            await warn_if_upstream_is_self(upstream_url, port)
        log.info(
            "gateway listening on %s://%s:%d, forwarding to %s (%s API)",
            "https" if tls else "http", settings.host, port, upstream_url, settings.upstream_api,
        )
        await signals.first.wait()
        deadline = asyncio.get_running_loop().time() + settings.drain_timeout - _CLEANUP_MARGIN
        lifecycle = app[DRAIN_STATE]
        lifecycle.draining = True
        log.info(
            "draining: not ready; accepting for %.1fs, then finishing in-flight requests "
            "(exit within %.1fs)", settings.drain_delay, settings.drain_timeout,
        )
        if settings.drain_delay:
            await _wait_or(signals.second, settings.drain_delay)
        await _stop_accepting(runner)
        remaining = deadline - asyncio.get_running_loop().time()
        if not await lifecycle.wait_idle(remaining):
            log.warning(
                "drain time over with %d request(s) in flight; cancelling them",
                lifecycle.in_flight,
            )
    finally:
        # The gateway first (it stops listening and lets in-flight requests finish while the
        # sandbox, which they may be waiting on, still runs), then the rest.
        for r in reversed(runners):
            await r.cleanup()
    log.info("drained; exiting")


def run(coro_fn: Callable[[Settings], Awaitable[T]], settings: Settings) -> T:
    """Run one of the serve functions on uvloop when it is installed (a plain install has it
    wherever its wheels exist; pyproject.toml)."""
    try:
        import uvloop
    except ImportError:
        uvloop = None  # type: ignore[assignment]
    # Outside the except block: run there, every traceback of the whole run would carry the
    # ImportError as its context ("During handling of the above exception...").
    if uvloop is None:
        return asyncio.run(coro_fn(settings))  # type: ignore[arg-type]
    return uvloop.run(coro_fn(settings))  # type: ignore[arg-type]
