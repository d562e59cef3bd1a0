"""A real ``redis-server`` for the tests: started on a free port in a temporary directory,
persisting nothing, stopped at the end; stop/start helpers for the outage tests.

Without the binary the Redis tests skip with the install command, except under ``CI``, where a
missing server fails them (CI installs it in ``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = "redis-server is not installed: apt-get install redis-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_redis_server() -> str:
    """The ``redis-server`` binary's path; skip (or fail under CI) when there is none."""
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT + " (CI must install it; see .ci/run)")
        pytest.skip(INSTALL_HINT)
    return path


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; :meth:`stop` and :meth:`start` again keep
    the same port, so clients holding the URL reconnect after an outage."""

    def __init__(self, binary: str, workdir: Path, *extra: str, port: int | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port or _free_port()
        # More server arguments: a password, a unix socket, TLS (then ``port`` is the TLS port
        # and plain TCP is off).
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        if self.proc is not None:
            return
        tls = "--tls-port" in self.extra
        port_args = ["--port", "0"] if tls else ["--port", str(self.port)]
        self.proc = subprocess.Popen(
            [
                self.binary, *port_args, *self.extra, "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                "--daemonize", "no", "--loglevel", "warning",
                "--logfile", str(self.workdir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not (self._answers() if not tls else self._listens()):
            if self.proc.poll() is not None:
                log = (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
                self.proc = None
                raise RuntimeError(f"redis-server exited at start: {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not answer PING in time")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                # +PONG, or -NOAUTH from a server with a password: either way it is up.
                return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def _listens(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """Run one command through ``redis-cli`` (raw reply), for inspection from tests."""
        cli = shutil.which("redis-cli") or "redis-cli"
        out = subprocess.run(
            [cli, "-p", str(self.port), "--raw", *args],
            check=True, capture_output=True, timeout=10,
        )
        return out.stdout


def running_redis() -> Iterator[RedisServer]:
    binary = require_redis_server()
    with tempfile.TemporaryDirectory(prefix="redis-test-") as tmp:
        server = RedisServer(binary, Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One server for the whole session; tests keep apart by their own keys."""
    yield from running_redis()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A server for one test alone, for tests that stop and restart it."""
    yield from running_redis()
