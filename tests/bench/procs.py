"""Processes for bench_gateway: start them pinned to a CPU, read their CPU time and memory from
/proc, and drive load at them with wrk (tests/bench/wrk_report.lua)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_report.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpu: int | None, argv: list[str]) -> list[str]:
    if cpu is None or not shutil.which("taskset"):
        return argv
    return ["taskset", "-c", str(cpu), *argv]


class Proc:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], logdir: Path, cpu: int | None,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            pinned(cpu, argv), stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, cwd=str(HERE.parent.parent),
        )
        self.cpu = cpu

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads), from /proc/<pid>/stat."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()


def wait_http(url: str, proc: Proc, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            sys.exit(f"{proc.name} exited; see {proc.log_path}:\n{proc.log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{proc.name} did not answer {url} within {timeout}s; see {proc.log_path}")


@dataclass(frozen=True, slots=True)
class Load:
    """One request shape: method, Basic auth header value, form body or None, paths cycled."""

    method: str
    auth: str
    body: str | None
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(base_url: str, load: Load, *, connections: int, seconds: float,
        cpu: int | None) -> WrkResult:
    argv = pinned(cpu, [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(LUA), base_url, "--",
        load.method, load.auth, load.body if load.body is not None else "-", *load.paths,
    ])
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in reversed(out.splitlines()) if ln.startswith("{"))
    d = json.loads(line)
    return WrkResult(
        requests=d["requests"], seconds=d["duration_us"] / 1e6, non2xx=d["non2xx"],
        socket_errors=d["socket_errors"], p50_ms=d["p50_us"] / 1000,
        p90_ms=d["p90_us"] / 1000, p99_ms=d["p99_us"] / 1000,
    )
