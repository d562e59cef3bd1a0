"""Running the gateway and the sandbox as servers (the CLI's I/O side): listening, graceful
drain on SIGTERM, and the multi-process supervisor.

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
import dataclasses
import gc
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Awaitable, Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from gateway.config import Settings
from gateway.state.settings import warn_if_unshared

log = logging.getLogger("gateway.server")

# Time kept back from the drain budget for cancelling stragglers (aiohttp may wait its
# shutdown_timeout twice: for the handler, then after cancelling it) and closing the upstream
# session and the sandbox.
_STRAGGLER_TIMEOUT = 0.25
_CLEANUP_MARGIN = 1.0
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

T = TypeVar("T")


async def _start(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout: float = 1.0,
    reuse_port: bool = False,
    limits: Settings | None = None,
) -> tuple[web.AppRunner, int]:
    from gateway import limits as client_limits

    extra = client_limits.handler_args(limits) if limits else {}
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout, **extra)
    await runner.setup()
    site: web.BaseSite
    if limits:  # the gateway's client limits (docs/reliability.md)
        site = client_limits.LimitedSite(runner, host, port, limits, reuse_port=reuse_port)
    else:
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    await site.start()
    server = site._server  # the bound port when 0 was asked for
    bound = server.sockets[0].getsockname()[1] if server and server.sockets else port
    return runner, bound


class _Signals:
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
    from gateway.sandbox.app import create_sandbox_app

    signals = _Signals()
    runner, port = await _start(create_sandbox_app(settings), settings.host, settings.port)
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


async def _start_sandbox(settings: Settings) -> tuple[web.AppRunner, str]:
    from gateway.sandbox.app import create_sandbox_app

    runner, port = await _start(create_sandbox_app(settings), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    log.info("embedded sandbox listening on %s", url)
    return runner, url


async def _start_metrics_port(
    settings: Settings, app: web.Application | None
) -> web.AppRunner | None:
    from gateway.observability.metrics import METRICS, create_metrics_app

    if not settings.metrics_port:
        return None
    metrics = app[METRICS] if app is not None else None
    runner, port = await _start(create_metrics_app(metrics), settings.host, settings.metrics_port)
    log.info("metrics on http://%s:%d/metrics", settings.host, port)
    return runner


async def serve_gateway(
    settings: Settings, upstream_url: str | None = None, reuse_port: bool = False
) -> None:
    """One gateway process. ``upstream_url`` and ``reuse_port`` are given by the supervisor to
    its workers."""
    from gateway.app import create_app
    from gateway.observability import LIFECYCLE

    signals = _Signals()
    runners: list[web.AppRunner] = []
    try:
        if settings.sandbox and upstream_url is None:
            sandbox_runner, upstream_url = await _start_sandbox(settings)
            runners.append(sandbox_runner)
        upstream_url = upstream_url or settings.upstream_url
        app = create_app(settings, upstream_url)
        runner, port = await _start(
            app, settings.host, settings.port,
            shutdown_timeout=_STRAGGLER_TIMEOUT, reuse_port=reuse_port, limits=settings,
        )
        runners.append(runner)
        metrics_runner = await _start_metrics_port(settings, app)
        if metrics_runner is not None:
            runners.append(metrics_runner)
        log.info(
            "gateway listening on http://%s:%d, forwarding to %s (%s API)",
            settings.host, port, upstream_url, settings.upstream_api,
        )
        await signals.first.wait()
        deadline = asyncio.get_running_loop().time() + settings.drain_timeout - _CLEANUP_MARGIN
        lifecycle = app[LIFECYCLE]
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


# --- several processes --------------------------------------------------------------------


def _worker_main(settings: Settings, upstream_url: str | None) -> None:
    """Entry point of a spawned worker process."""
    from gateway.observability.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, settings.log_mask_numbers)
    try:
        run(lambda s: serve_gateway(s, upstream_url, reuse_port=True), settings)
    except KeyboardInterrupt:
        pass


def _reserve_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) a SO_REUSEPORT socket on host:port: it resolves port 0 to one
    port that all workers then share, and keeps it ours until the workers have bound it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _prepare_multiproc_dir() -> tuple[str, bool]:
    """The directory where workers write their metric samples: PROMETHEUS_MULTIPROC_DIR if set
    (emptied: samples of a previous run would be summed in), else a fresh temporary one."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return given, False
    path = tempfile.mkdtemp(prefix="sms-gateway-metrics-")
    os.environ[MULTIPROC_ENV] = path  # inherited by the workers spawned after this
    return path, True


async def _supervise(settings: Settings) -> int:
    """Run ``settings.workers`` gateway processes on one port; host the sandbox and the
    aggregated metrics port here; forward SIGTERM; exit non-zero if a worker dies on its own
    (the orchestrator then restarts the whole set)."""
    from prometheus_client import multiprocess

    signals = _Signals()
    runners: list[web.AppRunner] = []
    reserved = _reserve_port(settings.host, settings.port)
    port = reserved.getsockname()[1]
    worker_settings = dataclasses.replace(settings, port=port, workers=1, metrics_port=0)
    ctx = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = []
    exit_code = 0
    try:
        upstream_url: str | None = None
        if settings.sandbox:
            sandbox_runner, upstream_url = await _start_sandbox(settings)
            runners.append(sandbox_runner)
        metrics_runner = await _start_metrics_port(settings, None)
        if metrics_runner is not None:
            runners.append(metrics_runner)
        for _ in range(settings.workers):
            proc = ctx.Process(target=_worker_main, args=(worker_settings, upstream_url))
            proc.start()
            workers.append(proc)
        log.info(
            "supervisor: %d workers on http://%s:%d (pids %s)",
            settings.workers, settings.host, port, ", ".join(str(p.pid) for p in workers),
        )
        warn_if_unshared(settings, log)
        died = asyncio.Event()
        loop = asyncio.get_running_loop()
        for proc in workers:
            loop.add_reader(proc.sentinel, died.set)
        stop = asyncio.ensure_future(signals.first.wait())
        death = asyncio.ensure_future(died.wait())
        await asyncio.wait({stop, death}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        death.cancel()
        for proc in workers:
            loop.remove_reader(proc.sentinel)
        if not signals.first.is_set():
            dead = [p for p in workers if not p.is_alive()]
            log.error(
                "supervisor: worker %s exited with %s; stopping all workers",
                dead[0].pid, dead[0].exitcode,
            )
            exit_code = 1
        for proc in workers:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        await _join_all(workers, settings.drain_timeout + 1.0, signals.second)
    finally:
        for proc in workers:
            if proc.is_alive():
                log.warning("supervisor: worker %s did not drain in time; killing it", proc.pid)
                proc.kill()
                proc.join(1.0)
            if proc.pid is not None:
                multiprocess.mark_process_dead(proc.pid)
        for r in reversed(runners):
            await r.cleanup()
        reserved.close()
    return exit_code


async def _join_all(workers: list[BaseProcess], timeout: float, hurry: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(p.is_alive() for p in workers) and loop.time() < deadline:
        if hurry.is_set():
            # A second signal: pass it on, so the workers skip the rest of their drain delay.
            for proc in workers:
                if proc.is_alive() and proc.pid is not None:
                    os.kill(proc.pid, signal.SIGTERM)
            hurry.clear()
        await asyncio.sleep(0.05)


def serve_workers(settings: Settings) -> int:
    path, created = _prepare_multiproc_dir()
    try:
        return run(_supervise, settings)
    finally:
        if created:
            shutil.rmtree(path, ignore_errors=True)


def run(coro_fn: Callable[[Settings], Awaitable[T]], settings: Settings) -> T:
    """Run one of the serve functions on uvloop when it is installed (the ``speed`` extra)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro_fn(settings))  # type: ignore[arg-type]
    return uvloop.run(coro_fn(settings))  # type: ignore[arg-type]
