"""Instructions per request, counted by valgrind's callgrind: a repeatable A/B measure of the
gateway's own work on a shared machine, where CPU seconds move by 10-30% between identical runs.

Run:  /work/venv/bin/python -m tests.bench.icount                 (about 2 minutes)
      /work/venv/bin/python -m tests.bench.icount fetch --gateway-only   (one version against
                                                                   another: run it in each)

The sandbox runs as usual; the measured server -- the gateway (``python -m gateway serve`` with
its production defaults) and, for comparison, the naive proxy (tests/bench/naiveproxy.py, the
same legacy requests) and the floor proxy (tests/bench/floorproxy.py: an aiohttp server
forwarding current-API requests with one aiohttp client call, no translation) -- runs
under ``valgrind --tool=callgrind`` with instrumentation off. After a warm-up, instrumentation
is switched on (``callgrind_control``) for exactly ``--requests`` requests sent one after the
other over one keep-alive connection, then off; the count divided by the requests is the
figure. Sequential requests make it repeatable (within 0.5% here) but count no batching:
under load aiohttp and the event loop spread their fixed costs over several requests.

User-space instructions only: the kernel's share of each socket read and write is not counted,
so these figures rank code changes; the wall-clock and CPU figures come from bench_gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

import aiohttp

from tests.bench.bench_gateway import AUTH, CURRENT, LEGACY, PY, READ_ACCOUNT
from tests.bench.procs import Proc, free_port, wait_http

SEEDED = 60
OPERATIONS = ("fetch", "list", "send")


def _request(op: str, base: str, sid: str, floor: bool) -> tuple[str, str, dict[str, str]]:
    """Method, URL and form of one ``op``: the legacy request for the gateway, the current-API
    one it becomes for the floor proxy."""
    current = base + CURRENT.format(acc=READ_ACCOUNT) + "/Messages"
    legacy = base + LEGACY.format(acc=READ_ACCOUNT)
    if op == "send":
        if floor:
            return "POST", current + ".json", {
                "To": "+14155551212", "From": "+14155550000", "Body": "icount"}
        return "POST", legacy, {"To": "415-555-1212", "From": "415-555-0000", "Body": "icount"}
    if op == "list":
        return "GET", current + ".json?PageSize=50" if floor else legacy + "?num=50", {}
    return "GET", current + f"/{sid}.json" if floor else legacy + f"/{sid}", {}


async def _drive(server_pid: int, base: str, sandbox_url: str, op: str, n: int,
                 floor: bool) -> None:
    headers = {"Authorization": AUTH}
    async with aiohttp.ClientSession(headers=headers) as session:
        sids = []
        for i in range(SEEDED):
            form = {"To": "+14155551212", "From": "+14155550000", "Body": f"icount {i}"}
            url = sandbox_url + CURRENT.format(acc=READ_ACCOUNT) + "/Messages.json"
            async with session.post(url, data=form) as resp:
                sids.append((await resp.json())["sid"])

        async def one(i: int) -> None:
            method, target, form = _request(op, base, sids[i % len(sids)], floor)
            async with session.request(method, target, data=form or None) as resp:
                await resp.read()
                if resp.status >= 300:
                    sys.exit(f"{op}: {method} {target} answered {resp.status}")

        for i in range(30):
            await one(i)
        await _callgrind(server_pid, "-i", "on")
        for i in range(n):
            await one(i)
        await _callgrind(server_pid, "-i", "off")
        await _callgrind(server_pid, "-d")


async def _callgrind(pid: int, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "callgrind_control", *args, str(pid),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    if await proc.wait() != 0:
        sys.exit(f"callgrind_control {' '.join(args)} {pid} failed")


def _total(out: Path) -> int:
    total = 0
    for dump in out.parent.glob(out.name + "*"):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    return total


def count(op: str, n: int, server_name: str, tmp: Path) -> float:
    """Instructions per request of ``op`` through ``server_name``: the gateway, the floor proxy
    (current-API requests) or the naive proxy (the same legacy requests as the gateway)."""
    floor = server_name == "floor"
    sb_port, port = free_port(), free_port()
    sandbox = Proc("sandbox", [PY, "-m", "gateway", "sandbox", "--host", "127.0.0.1", "--port",
                               str(sb_port), "--sandbox-tick", "86400", "--log-format", "json"],
                   tmp, None)
    sandbox_url = f"http://127.0.0.1:{sb_port}"
    out = tmp / f"callgrind-{op}-{server_name}.out"
    server = {
        "floor": [PY, "-m", "tests.bench.floorproxy", str(port), sandbox_url],
        "naive": [PY, "-m", "tests.bench.naiveproxy", str(port), sandbox_url],
        "gateway": [PY, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port),
                    "--upstream-url", sandbox_url, "--log-format", "json"],
    }[server_name]
    measured = Proc("callgrind", ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                  f"--callgrind-out-file={out}", *server], tmp, None)
    try:
        wait_http(sandbox_url + "/healthz", sandbox)
        wait_http(f"http://127.0.0.1:{port}/healthz", measured, timeout=180)
        asyncio.run(_drive(measured.pid, f"http://127.0.0.1:{port}", sandbox_url, op, n, floor))
    finally:
        measured.stop()
        sandbox.stop()
    return _total(out) / n


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("operations", nargs="*", metavar="OPERATION", default=list(OPERATIONS),
                   help=f"any of {', '.join(OPERATIONS)} (default: all)")
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--gateway-only", action="store_true",
                   help="skip the floor and naive proxies (to compare gateway versions)")
    args = p.parse_args(argv)
    if unknown := set(args.operations) - set(OPERATIONS):
        p.error(f"unknown operation(s): {', '.join(sorted(unknown))}")
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (Debian: apt-get install valgrind)")
    tmp = Path(tempfile.mkdtemp(prefix="icount-"))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(f"k instructions per request, {args.requests} sequential requests; logs in {tmp}")
    servers = ["gateway"] if args.gateway_only else ["gateway", "naive", "floor"]
    print("| operation | " + " | ".join(servers) + " | gateway / naive | gateway / floor |")
    print("| --- " * (len(servers) + 3) + "|")
    for op in args.operations:
        n = args.requests if op != "list" else max(args.requests // 3, 50)
        k = {name: count(op, n, name, tmp) / 1000 for name in servers}
        ratios = ([f"{k['gateway'] / k['naive']:.2f}", f"{k['gateway'] / k['floor']:.2f}"]
                  if len(k) > 1 else ["-", "-"])
        print(f"| {op} | " + " | ".join(f"{v:,.0f}" for v in k.values()) + " | "
              + " | ".join(ratios) + " |", flush=True)


if __name__ == "__main__":
    main()
