"""Several gateway processes on one port: the supervisor spawns ``workers`` processes sharing
the port (SO_REUSEPORT), hosts the embedded sandbox and the aggregated metrics port itself,
forwards SIGTERM, and exits non-zero when a worker dies on its own."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
from multiprocessing.process import BaseProcess
from pathlib import Path

from aiohttp import web
from prometheus_client import multiprocess

from gateway.config import Settings
from gateway.observability.logs import configure_logging
from gateway.observability.metrics import MULTIPROC_ENV
from gateway.server import Signals, run, serve_gateway, start_metrics_port, start_sandbox
from gateway.state.settings import warn_if_unshared

log = logging.getLogger("gateway.server")


def _worker_main(settings: Settings, upstream_url: str | None) -> None:
    """Entry point of a spawned worker process."""
    configure_logging(settings.log_level, settings.log_format, settings.log_mask_numbers)
    if settings.tls_cert:
        # A rotation passed on before this worker's handler is in place must not end it; the
        # files it is about to load are the new ones anyway.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
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
    signals = Signals()
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
            sandbox_runner, upstream_url = await start_sandbox(settings)
            runners.append(sandbox_runner)
        metrics_runner = await start_metrics_port(settings, None)
        if metrics_runner is not None:
            runners.append(metrics_runner)
        if settings.tls_cert:  # each worker holds its own TLS context: pass rotations on
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, _signal_all, workers, signal.SIGHUP
            )
        for _ in range(settings.workers):
            proc = ctx.Process(target=_worker_main, args=(worker_settings, upstream_url))
            proc.start()
            workers.append(proc)
        log.info(
            "supervisor: %d workers on %s://%s:%d (pids %s)",
            settings.workers, "https" if settings.tls_cert else "http", settings.host, port,
            ", ".join(str(p.pid) for p in workers),
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


def _signal_all(workers: list[BaseProcess], sig: signal.Signals) -> None:
    for proc in workers:
        if proc.is_alive() and proc.pid is not None:
            os.kill(proc.pid, sig)


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
