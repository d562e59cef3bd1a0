"""Running the gateway and the sandbox as servers (the CLI's I/O side)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from gateway.config import Settings

log = logging.getLogger("gateway.server")


async def _start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # the bound port when 0 was asked for
    bound = server.sockets[0].getsockname()[1] if server and server.sockets else port
    return runner, bound


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await stop.wait()


async def serve_sandbox(settings: Settings) -> None:
    from gateway.sandbox.app import create_sandbox_app

    runner, port = await _start(create_sandbox_app(settings), settings.host, settings.port)
    log.info("sandbox listening on http://%s:%d", settings.host, port)
    try:
        await _wait_for_signal()
    finally:
        await runner.cleanup()


async def serve_gateway(settings: Settings) -> None:
    from gateway.app import create_app

    runners: list[web.AppRunner] = []
    upstream_url = settings.upstream_url
    try:
        if settings.sandbox:
            from gateway.sandbox.app import create_sandbox_app

            sandbox_runner, sandbox_port = await _start(
                create_sandbox_app(settings), "127.0.0.1", 0
            )
            runners.append(sandbox_runner)
            upstream_url = f"http://127.0.0.1:{sandbox_port}"
            log.info("embedded sandbox listening on %s", upstream_url)
        runner, port = await _start(create_app(settings, upstream_url), settings.host, settings.port)
        runners.append(runner)
        log.info(
            "gateway listening on http://%s:%d, forwarding to %s (%s API)",
            settings.host, port, upstream_url, settings.upstream_api,
        )
        await _wait_for_signal()
    finally:
        for r in reversed(runners):
            await r.cleanup()


def run(coro_fn, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.run(coro_fn(settings))
    except ImportError:
        asyncio.run(coro_fn(settings))
