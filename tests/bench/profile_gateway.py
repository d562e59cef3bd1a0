"""Profile one operation through the gateway: start the sandbox and the gateway like
bench_gateway does, drive one load with wrk, report the gateway's CPU per request, and, with
``--py-spy``, record a py-spy profile of the gateway meanwhile (the "profile first" step of
docs/performance.md).

    python -m tests.bench.profile_gateway fetch --seconds 10 --py-spy /tmp/fetch.txt
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench.bench_gateway import gateway_has_sms2010, operations, seed, start
from tests.bench.procs import wrk

CPU_SERVERS = 0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("operation", choices=["send", "fetch", "list", "sms2010"])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--py-spy", metavar="OUT", help="write py-spy's raw collapsed stacks here")
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="profile-gateway-"))
    rig = start(tmp)
    try:
        sids = asyncio.run(seed(rig.sandbox_url))
        ops = operations(sids[:100], asyncio.run(gateway_has_sms2010(rig.gateway_url)))
        index = {"send": 0, "fetch": 1, "list": 2, "sms2010": 3}[args.operation]
        load = ops[index].gateway
        wrk(rig.gateway_url, load, connections=4, seconds=1, cpu=CPU_SERVERS)
        spy = None
        if args.py_spy:
            spy_bin = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            if not Path(spy_bin).exists():
                sys.exit("py-spy is not on PATH")
            spy = subprocess.Popen([
                spy_bin, "record", "-f", "raw", "--nolineno", "--nonblocking", "-r", str(args.rate), "-o", args.py_spy,
                "-d", str(int(args.seconds * args.rounds) + 1), "-p", str(rig.gateway.pid),
            ], stdout=subprocess.DEVNULL)
        for _ in range(args.rounds):
            before = rig.gateway.cpu_seconds()
            res = wrk(rig.gateway_url, load, connections=args.connections,
                      seconds=args.seconds, cpu=CPU_SERVERS)
            cpu_us = (rig.gateway.cpu_seconds() - before) / max(res.requests, 1) * 1e6
            print(f"{ops[index].name}: {res.rps:.0f} req/s, {cpu_us:.0f} us CPU/req, "
                  f"non2xx {res.non2xx}, p50 {res.p50_ms:.2f} ms", flush=True)
        if spy is not None:
            spy.wait()
    finally:
        for proc in rig.procs():
            proc.stop()


if __name__ == "__main__":
    main()
