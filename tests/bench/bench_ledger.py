"""What the ledger of legacy clients costs: CPU per legacy request through a gateway with the
ledger on and through one with it off, in one run, against one sandbox.

Run:  /work/venv/bin/python -m tests.bench.bench_ledger              (about 2 minutes)
      /work/venv/bin/python -m tests.bench.bench_ledger --rounds 3 --seconds 3
      /work/venv/bin/python -m tests.bench.bench_ledger --icount       (about 6 minutes)

Processes as in bench_gateway: the sandbox (one-day tick) on CPU 1; both gateways (production
defaults, JSON access log at INFO to a file, state store memory://, the ledger flushing every
5 s) and wrk on CPU 0. Each round measures each gateway in turn (the order alternates between
rounds), for the 2008 fetch and the 2008 list page of 50; CPU per request is the gateway's
/proc utime+stime over the wrk run divided by the requests it answered. The table gives the
medians and the ledger's cost in percent of the gateway's CPU per request (goal: under 3).
Requests carry a User-Agent, as real legacy clients' do, so the ledger tells them apart.

CPU seconds on a shared 2-CPU machine move by several percent between identical runs, more
than the ledger costs; ``--icount`` instead counts the gateway's instructions per request
under callgrind (tests/bench/icount.py: sequential requests, repeatable within 0.5%), with
the ledger on and off, in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

from tests.bench import icount
from tests.bench.bench_gateway import CPU_SANDBOX, CPU_SERVERS, PY, machine, operations, seed
from tests.bench.procs import Load, Proc, free_port, wait_http, wrk

USER_AGENT = "twilio-python/5.6.0 (Python 2.7.18; Linux)"
VARIANTS = (("ledger on", ["--ledger"]), ("ledger off", ["--no-ledger"]))


def start(tmp: Path) -> tuple[Proc, str, list[tuple[str, Proc, str]]]:
    cli = [PY, "-m", "gateway"]
    port = free_port()
    sandbox = Proc("sandbox", [*cli, "sandbox", "--host", "127.0.0.1", "--port", str(port),
                               "--sandbox-tick", "86400", "--log-format", "json"],
                   tmp, CPU_SANDBOX)
    sandbox_url = f"http://127.0.0.1:{port}"
    wait_http(sandbox_url + "/healthz", sandbox)
    gateways = []
    for name, extra in VARIANTS:
        gw_port = free_port()
        proc = Proc(name.replace(" ", "-"),
                    [*cli, "serve", "--host", "127.0.0.1", "--port", str(gw_port),
                     "--upstream-url", sandbox_url, "--log-format", "json", *extra],
                    tmp, CPU_SERVERS)
        gateways.append((name, proc, f"http://127.0.0.1:{gw_port}"))
    for _, proc, url in gateways:
        wait_http(url + "/healthz", proc)
    return sandbox, sandbox_url, gateways


def cpu_per_request(proc: Proc, url: str, load: Load, connections: int, seconds: float
                    ) -> tuple[float, float]:
    """(µs CPU per request, requests per second) of one wrk run."""
    before = proc.cpu_seconds()
    result = wrk(url, load, connections=connections, seconds=seconds, cpu=CPU_SERVERS)
    spent = proc.cpu_seconds() - before
    if result.non2xx or result.socket_errors or not result.requests:
        sys.exit(f"{url}: {result.non2xx} non-2xx, {result.socket_errors} socket errors")
    return spent / result.requests * 1e6, result.rps


def count_instructions(requests: int) -> None:
    """The gateway's instructions per fetch and per list with the ledger on and off (the
    gateway is started with the environment, so GATEWAY_LEDGER switches it)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-ledger-icount-"))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(f"# {machine()}")
    print(f"# k instructions per request, callgrind, {requests} sequential requests")
    print("| operation | ledger on | ledger off | ledger cost |")
    print("| --- | ---: | ---: | ---: |")
    for op in ("fetch", "list"):
        n = requests if op != "list" else max(requests // 3, 50)
        k = {}
        for state in ("true", "false"):
            os.environ["GATEWAY_LEDGER"] = state
            # A directory each: icount reads every callgrind dump named like its output file.
            where = tmp / f"{op}-ledger-{state}"
            where.mkdir()
            k[state] = icount.count(op, n, "gateway", where) / 1000
        on, off = k["true"], k["false"]
        print(f"| {op} | {on:,.0f} | {off:,.0f} | {(on - off) / off * 100:+.1f}% |", flush=True)
    os.environ.pop("GATEWAY_LEDGER", None)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--icount", action="store_true",
                   help="count instructions per request under callgrind instead")
    p.add_argument("--requests", type=int, default=300, help="with --icount: per operation")
    args = p.parse_args(argv)
    if args.icount:
        count_instructions(args.requests)
        return
    os.environ["WRK_USER_AGENT"] = USER_AGENT  # read by tests/bench/wrk_report.lua
    tmp = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    sandbox, sandbox_url, gateways = start(tmp)
    try:
        sids = asyncio.run(seed(sandbox_url))
        ops = [op for op in operations(sids[:100], False) if op.name != "2008 send"]
        print(f"# {machine()}")
        print(f"# {args.rounds} rounds of {args.seconds:g} s, {args.connections} connections")
        print("| operation | gateway | req/s | µs CPU/req | ledger cost |")
        print("| --- | --- | ---: | ---: | ---: |")
        for op in ops:
            load = op.gateway
            for _, proc, url in gateways:  # warm both (caches, the first flush)
                cpu_per_request(proc, url, load, args.connections, 1.0)
            cpu: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
            rps: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
            for r in range(args.rounds):
                order = gateways if r % 2 == 0 else list(reversed(gateways))
                for name, proc, url in order:
                    us, rate = cpu_per_request(proc, url, load, args.connections, args.seconds)
                    cpu[name].append(us)
                    rps[name].append(rate)
            on, off = statistics.median(cpu["ledger on"]), statistics.median(cpu["ledger off"])
            for name, _ in VARIANTS:
                cost = f"{(on - off) / off * 100:+.1f}%" if name == "ledger on" else ""
                print(f"| {op.name} | {name} | {statistics.median(rps[name]):.0f} | "
                      f"{statistics.median(cpu[name]):.0f} | {cost} |", flush=True)
    finally:
        for _, proc, _ in gateways:
            proc.stop()
        sandbox.stop()


if __name__ == "__main__":
    main()
