"""What one upstream call costs the gateway's process, by HTTP client: aiohttp's client as the
gateway used it for the legacy dialects until round 4 (and still uses for the passthrough),
against the gateway's own keep-alive transport (gateway/upstream/transport.py), for the same
fetch of one message from the sandbox.

Run:  /work/venv/bin/python -m tests.bench.clientcost          (about 2 minutes)

Two figures per client:
- instructions per call, counted by valgrind's callgrind as the difference between a run of
  ``--calls`` + 1000 sequential calls and one of ``--calls`` (start-up and imports cancel out);
  repeatable within a fraction of a percent, user space only;
- CPU microseconds per call (the client process's own CPU time) at 8 concurrent calls, without
  valgrind: includes the kernel's share of the socket writes, and moves with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.bench.bench_gateway import AUTH, CURRENT, PY, READ_ACCOUNT
from tests.bench.procs import Proc, free_port, wait_http

CLIENTS = ("aiohttp", "transport")


async def _calls(client: str, url: str, path: str, n: int, concurrency: int) -> float:
    """Make ``n`` calls (after a warm-up); return CPU seconds per call."""
    headers = {"Authorization": AUTH}
    if client == "aiohttp":
        session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())

        async def one() -> None:
            # The options the gateway's legacy client passed per call.
            timeout = aiohttp.ClientTimeout(total=30, sock_connect=5, sock_read=10)
            async with session.request("GET", url + path, headers=headers,
                                       allow_redirects=False, timeout=timeout) as resp:
                await resp.read()
                assert resp.status == 200, resp.status

        close = session.close
    else:
        from gateway.upstream.transport import Pool

        pool = Pool(url)
        loop = asyncio.get_running_loop()
        pairs = list(headers.items())

        async def one() -> None:
            answer = await pool.request("GET", path, pairs, None, deadline=loop.time() + 30,
                                        connect_timeout=5, read_timeout=10, max_body=1 << 24)
            assert answer.status == 200, answer.status

        close = pool.close
    try:
        for _ in range(20):
            await one()
        started = time.process_time()

        async def worker(count: int) -> None:
            for _ in range(count):
                await one()

        await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
        return (time.process_time() - started) / n
    finally:
        await close()


def _instructions(client: str, url: str, path: str, n: int, tmp: Path) -> int:
    out = tmp / f"callgrind-{client}-{n}.out"
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", PY, "-m",
         "tests.bench.clientcost", "--one", client, url, path, str(n)],
        capture_output=True, text=True, check=True,
    )
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split()[-1].replace(",", ""))
    sys.exit(f"no callgrind total for {client}:\n{proc.stderr[-2000:]}")


def _loop_runner():  # type: ignore[no-untyped-def]
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--cpu-calls", type=int, default=8000)
    p.add_argument("--one", nargs=4, metavar=("CLIENT", "URL", "PATH", "N"),
                   help=argparse.SUPPRESS)  # the measured child process
    args = p.parse_args(argv)
    run = _loop_runner()
    if args.one:
        client, url, path, n = args.one
        run(_calls(client, url, path, int(n), 1))
        return
    tmp = Path(tempfile.mkdtemp(prefix="clientcost-"))
    port = free_port()
    sandbox = Proc("sandbox", [PY, "-m", "gateway", "sandbox", "--host", "127.0.0.1",
                               "--port", str(port), "--sandbox-tick", "86400"], tmp, 1)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", sandbox)
        path = run(_seed(url))
        print(f"one fetch of a sandbox message ({path}); logs in {tmp}")
        print("| client | instructions per call | CPU µs per call (-c8) |")
        print("| --- | --- | --- |")
        for client in CLIENTS:
            few = _instructions(client, url, path, args.calls, tmp)
            many = _instructions(client, url, path, args.calls + 1000, tmp)
            cpu = run(_calls(client, url, path, args.cpu_calls, 8))
            print(f"| {client} | {(many - few) / 1000 / 1000:,.0f}k | {cpu * 1e6:.0f} |",
                  flush=True)
    finally:
        sandbox.stop()


async def _seed(url: str) -> str:
    base = CURRENT.format(acc=READ_ACCOUNT)
    form = {"To": "+14155551212", "From": "+14155550000", "Body": "clientcost"}
    async with (
        aiohttp.ClientSession(headers={"Authorization": AUTH}) as session,
        session.post(url + base + "/Messages.json", data=form) as resp,
    ):
        sid = (await resp.json())["sid"]
    return f"{base}/Messages/{sid}.json"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
