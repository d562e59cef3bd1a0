"""What the gateway costs per request, side by side with talking to the sandbox directly and
with two reference proxies measured in the same run.

Run:  /work/venv/bin/python -m tests.bench.bench_gateway            (about 13 minutes)
      /work/venv/bin/python -m tests.bench.bench_gateway --quick    (about 2 minutes)

Separate processes: the sandbox (``sms-gateway sandbox``), the gateway (``sms-gateway serve`` with
its production defaults, uvloop when installed, JSON access logs at INFO to a file), a reference
hop (tests/bench/refhop.py: a minimal aiohttp server answering a fixed body), two reference
proxies in front of the sandbox (tests/bench/floorproxy.py, tests/bench/naiveproxy.py), nginx
``proxy_pass`` in front of the sandbox when nginx is installed, and wrk (Lua:
tests/bench/wrk_report.lua, keep-alive connections, pre-formatted requests) as the load.

On 2 CPUs: the sandbox runs on CPU 1; the gateway, the reference hop, the reference proxies,
nginx and wrk on CPU 0. The sandbox's status progression is set to a one-day tick, so a message
stays "queued" and the sandbox spends no CPU on progressions or callbacks during the run.

``--variant NAME=ARGS`` adds gateways started with extra ``serve`` arguments (e.g. the access
log off: ``--variant "no-access-log=--log-level WARNING"``), measured like the gateway in every
round and reported in a table of their own: what a setting costs, in the same run.

For every operation, in rounds, alternating direct / gateway (/ nginx) / floor / naive:
throughput with ``--connections`` connections, then latency with one connection. CPU per
request of a process comes from its /proc/<pid>/stat utime+stime over the throughput run. Then
the gateway's RSS over 100k requests (fetch, list and send in turn), and microbenchmarks of the
pure translation.

The reference proxies answer "what would any aiohttp proxy cost here?", since the hop is a
machine-dependent unit (cheaper relative to proxying on some machines than others):

- floor (floorproxy.py, driven with the direct loads, current API paths): one aiohttp server
  forwarding each request as it is over one ClientSession, ``await resp.read()``, the same
  status, body and Content-Type back; no parsing, no translation. One upstream call per request,
  like the gateway: no aiohttp proxy can do less.
- naive (naiveproxy.py, driven with the gateway's loads, 2008-08-01 paths): the issue's "naive
  design" -- one ClientSession, ``await resp.json()``, lxml rendering of the 2008 XML, uvloop --
  written the plain way. It speaks only 2008, so the 2010-sms JSON send has no naive row ("-").

Output: the main table (direct, gateway, nginx req/s; sandbox and gateway CPU; gateway hops),
the one-connection latency table (with nginx, floor and naive ms per percentile), and
"reference proxies (same run)": per operation, each proxy's req/s, its ratio to direct, its
us CPU per request and that CPU in hops.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import platform
import shlex
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.bench import micro
from tests.bench.procs import HERE, Load, Proc, WrkResult, free_port, wait_http, wrk

PY = sys.executable
SEND_ACCOUNT = "AC" + "5e" * 16
READ_ACCOUNT = "AC" + "4d" * 16
AUTH = "Basic " + base64.b64encode(f"{READ_ACCOUNT}:benchtoken".encode()).decode()
SEND_AUTH = "Basic " + base64.b64encode(f"{SEND_ACCOUNT}:benchtoken".encode()).decode()
SEEDED = 1200  # more than one upstream chunk of 1000
FETCH_SIDS = 100
CURRENT = "/2010-04-01/Accounts/{acc}"
LEGACY = "/2008-08-01/Accounts/{acc}/SMS/Messages"
CPU_SERVERS, CPU_SANDBOX = 0, 1


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    direct: Load
    gateway: Load


@dataclass(slots=True)
class Samples:
    tput: list[WrkResult] = field(default_factory=list)
    lat: list[WrkResult] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # CPU ms per request of the measured proc
    sandbox_cpu_ms: list[float] = field(default_factory=list)


def naive_serves(op: Operation) -> bool:
    """naiveproxy speaks only the 2008-08-01 paths the gateway's loads use."""
    return op.gateway.paths[0].startswith("/2008-08-01/")


def operations(sids: list[str], have_sms2010: bool) -> list[Operation]:
    send_form = "To=%2B14155551212&From=%2B14155550000&Body=Benchmark+message"
    legacy_form = "To=415-555-1212&From=415-555-0000&Body=Benchmark+message"
    current_send = Load("POST", SEND_AUTH, send_form,
                        (CURRENT.format(acc=SEND_ACCOUNT) + "/Messages.json",))
    ops = [
        Operation(
            "2008 send", current_send,
            Load("POST", SEND_AUTH, legacy_form, (LEGACY.format(acc=SEND_ACCOUNT),)),
        ),
        Operation(
            "2008 fetch",
            Load("GET", AUTH, None, tuple(
                CURRENT.format(acc=READ_ACCOUNT) + f"/Messages/{s}.json" for s in sids)),
            Load("GET", AUTH, None, tuple(
                LEGACY.format(acc=READ_ACCOUNT) + f"/{s}" for s in sids)),
        ),
        Operation(
            "2008 list page of 50",
            Load("GET", AUTH, None,
                 (CURRENT.format(acc=READ_ACCOUNT) + "/Messages.json?PageSize=50",)),
            Load("GET", AUTH, None, (LEGACY.format(acc=READ_ACCOUNT) + "?num=50",)),
        ),
    ]
    if have_sms2010:
        ops.append(Operation(
            "2010-sms JSON send", current_send,
            Load("POST", SEND_AUTH, legacy_form,
                 (CURRENT.format(acc=SEND_ACCOUNT) + "/SMS/Messages.json",)),
        ))
    return ops


# --- setting up ----------------------------------------------------------------------------


async def seed(sandbox_url: str) -> list[str]:
    """SEEDED messages in the read account, straight into the sandbox; their sids."""
    url = sandbox_url + CURRENT.format(acc=READ_ACCOUNT) + "/Messages.json"
    async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as session:
        async def one(i: int) -> str:
            form = {"To": "+14155551212", "From": "+14155550000", "Body": f"Seeded message {i}"}
            async with session.post(url, data=form) as resp:
                resp.raise_for_status()
                return str((await resp.json())["sid"])

        sids: list[str] = []
        for start in range(0, SEEDED, 100):
            sids += await asyncio.gather(*(one(i) for i in range(start, start + 100)))
    return sids


async def gateway_has_sms2010(gateway_url: str) -> bool:
    url = gateway_url + CURRENT.format(acc=SEND_ACCOUNT) + "/SMS/Messages.json"
    async with aiohttp.ClientSession(headers={"Authorization": SEND_AUTH}) as session:
        form = {"To": "415-555-1212", "From": "415-555-0000", "Body": "probe"}
        async with session.post(url, data=form) as resp:
            return resp.status in (200, 201)


NGINX_CONF = """\
worker_processes 1;
daemon off;
error_log {tmp}/nginx-error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    upstream sandbox {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://sandbox;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def start_nginx(tmp: Path, upstream_port: int) -> tuple[Proc, str] | None:
    import shutil

    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                       else None)
    if nginx is None:
        return None
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, upstream=upstream_port, port=port))
    proc = Proc("nginx", [nginx, "-c", str(conf), "-p", str(tmp)], tmp, CPU_SERVERS)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc)
    return proc, url


# --- measuring ---------------------------------------------------------------------------


@dataclass(slots=True)
class Rig:
    sandbox: Proc
    sandbox_url: str
    gateway: Proc
    gateway_url: str
    ref: Proc
    ref_url: str
    floor: Proc
    floor_url: str
    naive: Proc
    naive_url: str
    nginx: tuple[Proc, str] | None
    # --variant: more gateways, each with extra `serve` arguments: (name, process, URL)
    variants: list[tuple[str, Proc, str]] = field(default_factory=list)

    def procs(self) -> list[Proc]:
        """Every process of the rig, in the order to stop them (the sandbox last)."""
        nginx = [self.nginx[0]] if self.nginx else []
        variants = [proc for _, proc, _ in self.variants]
        return [self.ref, self.floor, self.naive, *nginx, *variants, self.gateway, self.sandbox]


def measure(rig: Rig, target: Proc, url: str, load: Load, samples: Samples,
            connections: int, seconds: float, lat_seconds: float) -> None:
    cpu0, sb0 = target.cpu_seconds(), rig.sandbox.cpu_seconds()
    result = wrk(url, load, connections=connections, seconds=seconds, cpu=CPU_SERVERS)
    cpu1, sb1 = target.cpu_seconds(), rig.sandbox.cpu_seconds()
    if result.non2xx or result.socket_errors:
        sys.exit(f"{load.method} {load.paths[0]} on {url}: {result.non2xx} non-2xx answers, "
                 f"{result.socket_errors} socket errors")
    samples.tput.append(result)
    samples.cpu_ms.append((cpu1 - cpu0) * 1000 / result.requests)
    samples.sandbox_cpu_ms.append((sb1 - sb0) * 1000 / result.requests)
    # Let requests still queued from the throughput run finish before the one-connection run.
    wrk(url, load, connections=1, seconds=1, cpu=CPU_SERVERS)
    lat = wrk(url, load, connections=1, seconds=lat_seconds, cpu=CPU_SERVERS)
    if not lat.requests:
        sys.exit(f"{load.paths[0]} on {url}: no answer within {lat_seconds:g}s on one connection")
    samples.lat.append(lat)


def rss_run(rig: Rig, ops: list[Operation], total: int, seconds: float) -> list[tuple[int, float]]:
    """Gateway RSS (MiB) at start and after each half of ``total`` requests through it."""
    marks = [(0, rig.gateway.rss_mib())]
    done = 0
    turn = 0
    for half in (total // 2, total):
        while done < half:
            op = ops[turn % len(ops)]
            turn += 1
            done += wrk(rig.gateway_url, op.gateway, connections=32, seconds=seconds,
                        cpu=CPU_SERVERS).requests
        marks.append((done, rig.gateway.rss_mib()))
    return marks


def med(values: list[float]) -> float:
    return statistics.median(values)


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def machine() -> str:
    model = "?"
    for ln in Path("/proc/cpuinfo").read_text().splitlines():
        if ln.startswith("model name"):
            model = ln.split(":", 1)[1].strip()
            break

    def have(mod: str) -> str:
        try:
            __import__(mod)
        except ImportError:
            return "no"
        return "yes"

    import os

    return (f"nproc {os.cpu_count()}, CPU {model}, Python {platform.python_version()}, "
            f"uvloop {have('uvloop')}, orjson {have('orjson')}")


# --- the run -----------------------------------------------------------------------------


def start_helpers(tmp: Path, sandbox_url: str) -> list[tuple[Proc, str]]:
    """The bench's own aiohttp servers (tests/bench/<name>.py PORT [UPSTREAM]) on CPU_SERVERS:
    refhop, floorproxy, naiveproxy; started together, as each takes a second to import."""
    started = []
    for name, extra in (("refhop", []), ("floorproxy", [sandbox_url]),
                        ("naiveproxy", [sandbox_url])):
        port = free_port()
        proc = Proc(name, [PY, "-m", f"tests.bench.{name}", str(port), *extra], tmp, CPU_SERVERS)
        started.append((proc, f"http://127.0.0.1:{port}"))
    for proc, url in started:
        # refhop answers any GET; the proxies answer /healthz (floor: the sandbox's, through it).
        wait_http(url + "/healthz", proc)
    return started


def start(tmp: Path, variants: Sequence[tuple[str, list[str]]] = ()) -> Rig:
    sb_port, gw_port = free_port(), free_port()
    cli = [PY, "-m", "gateway"]
    sandbox = Proc("sandbox", [*cli, "sandbox", "--host", "127.0.0.1", "--port", str(sb_port),
                               "--sandbox-tick", "86400", "--log-format", "json"],
                   tmp, CPU_SANDBOX)
    sandbox_url = f"http://127.0.0.1:{sb_port}"
    wait_http(sandbox_url + "/healthz", sandbox)
    gateway = Proc("gateway", [*cli, "serve", "--host", "127.0.0.1", "--port", str(gw_port),
                               "--upstream-url", sandbox_url, "--log-format", "json"],
                   tmp, CPU_SERVERS)
    gateway_url = f"http://127.0.0.1:{gw_port}"
    wait_http(gateway_url + "/healthz", gateway)
    (ref, ref_url), (floor, floor_url), (naive, naive_url) = start_helpers(tmp, sandbox_url)
    rig = Rig(sandbox, sandbox_url, gateway, gateway_url, ref, ref_url, floor, floor_url,
              naive, naive_url, start_nginx(tmp, sb_port))
    for name, extra in variants:
        port = free_port()
        proc = Proc(f"gateway-{name}", [*cli, "serve", "--host", "127.0.0.1", "--port", str(port),
                                        "--upstream-url", sandbox_url, "--log-format", "json",
                                        *extra], tmp, CPU_SERVERS)
        rig.variants.append((name, proc, f"http://127.0.0.1:{port}"))
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return rig


def targets(rig: Rig, op: Operation) -> list[tuple[str, Proc, str, Load]]:
    """Who serves ``op`` in a round, in the order measured: (label, process, URL, load)."""
    out = [("direct", rig.sandbox, rig.sandbox_url, op.direct),
           ("gateway", rig.gateway, rig.gateway_url, op.gateway)]
    out += [(f"variant {name}", proc, url, op.gateway) for name, proc, url in rig.variants]
    if rig.nginx:
        out.append(("nginx", rig.nginx[0], rig.nginx[1], op.direct))
    out.append(("floor", rig.floor, rig.floor_url, op.direct))
    if naive_serves(op):
        out.append(("naive", rig.naive, rig.naive_url, op.gateway))
    return out


def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    rig = start(tmp, args.variants)
    try:
        sids = asyncio.run(seed(rig.sandbox_url))[:FETCH_SIDS]
        have_sms2010 = asyncio.run(gateway_has_sms2010(rig.gateway_url))
        ops = operations(sids, have_sms2010)
        print(machine())
        print(f"logs in {tmp}; rounds {args.rounds}, {args.seconds:g}s at -c{args.connections}, "
              f"{args.lat_seconds:g}s at -c1 per measurement\n")
        # Warm every path (imports, caches, connection pools) before measuring.
        for op in ops:
            for _, _, url, load in targets(rig, op):
                wrk(url, load, connections=4, seconds=1, cpu=CPU_SERVERS)
        ref_load = Load("GET", AUTH, None, ("/",))
        wrk(rig.ref_url, ref_load, connections=4, seconds=1, cpu=CPU_SERVERS)

        results: dict[tuple[str, str], Samples] = {}
        ref = Samples()
        m = functools.partial(measure, rig, connections=args.connections,
                              seconds=args.seconds, lat_seconds=args.lat_seconds)
        for _ in range(args.rounds):
            m(rig.ref, rig.ref_url, ref_load, ref)
            for op in ops:
                for label, proc, url, load in targets(rig, op):
                    m(proc, url, load, results.setdefault((op.name, label), Samples()))
        report(ops, results, ref, have_sms2010)
        marks = rss_run(rig, ops, args.rss_requests, 2 if args.quick else 4)
        print_rss(marks)
        print()
        micro.report(quick=args.quick)
    finally:
        for p in rig.procs():
            p.stop()


PERCENTILES: list[tuple[str, Callable[[WrkResult], float]]] = [
    ("p50", lambda r: r.p50_ms), ("p90", lambda r: r.p90_ms), ("p99", lambda r: r.p99_ms)]


def rps(s: Samples) -> float:
    return med([r.rps for r in s.tput])


def lat_ms(s: Samples | None, pick: Callable[[WrkResult], float]) -> str:
    return f"{med([pick(r) for r in s.lat]):.2f}" if s else "-"


def report(ops: list[Operation], results: dict[tuple[str, str], Samples], ref: Samples,
           have_sms2010: bool) -> None:
    hop = med(ref.cpu_ms)
    print(f"reference hop: {rps(ref):.0f} req/s, {hop * 1000:.0f} us CPU/request (= 1 hop)\n")
    rows, lat_rows, proxy_rows = [], [], []
    for op in ops:
        d, g = results[(op.name, "direct")], results[(op.name, "gateway")]
        n = results.get((op.name, "nginx"))
        d_rps = rps(d)
        rows.append([
            op.name, f"{d_rps:.0f}", f"{rps(g):.0f}", f"{rps(g) / d_rps:.2f}",
            f"{rps(n):.0f}" if n else "-",
            f"{med(d.cpu_ms) * 1000:.0f}", f"{med(g.cpu_ms) * 1000:.0f}",
            f"{med(g.cpu_ms) / hop:.2f}",
        ])
        proxy_row = [op.name]
        for label in ("floor", "naive"):
            p = results.get((op.name, label))
            proxy_row += [f"{rps(p):.0f}", f"{rps(p) / d_rps:.2f}", f"{med(p.cpu_ms) * 1000:.0f}",
                          f"{med(p.cpu_ms) / hop:.2f}"] if p else ["-"] * 4
        proxy_rows.append(proxy_row)
        for pct, pick in PERCENTILES:
            dv, gv = med([pick(r) for r in d.lat]), med([pick(r) for r in g.lat])
            lat_rows.append([
                op.name, pct, f"{dv:.2f}", f"{gv:.2f}", f"{gv / dv:.2f}", f"{gv - dv:.2f}",
                *(lat_ms(results.get((op.name, label)), pick)
                  for label in ("nginx", "floor", "naive")),
            ])
    print(table(["operation", "direct req/s", "gateway req/s", "ratio", "nginx req/s",
                 "sandbox us CPU/req", "gateway us CPU/req", "gateway hops"], rows))
    print()
    print(table(["operation (1 connection)", "pct", "direct ms", "gateway ms", "ratio",
                 "added ms", "nginx ms", "floor ms", "naive ms"], lat_rows))
    print("\nreference proxies (same run; ratio = to direct)")
    print(table(["operation", *(f"{label} {col}" for label in ("floor", "naive")
                                for col in ("req/s", "ratio", "us CPU/req", "hops"))],
                proxy_rows))
    variants = sorted({label for _, label in results if label.startswith("variant ")})
    if variants:
        print("\ngateway variants (same run; ratio = to direct)")
        print(table(["operation", "variant", "req/s", "ratio", "us CPU/req", "hops", "p50 ms",
                     "p99 ms"], [
            [op.name, label.removeprefix("variant "), f"{rps(v):.0f}",
             f"{rps(v) / rps(results[(op.name, 'direct')]):.2f}",
             f"{med(v.cpu_ms) * 1000:.0f}", f"{med(v.cpu_ms) / hop:.2f}",
             lat_ms(v, PERCENTILES[0][1]), lat_ms(v, PERCENTILES[2][1])]
            for op in ops for label in variants for v in [results[(op.name, label)]]
        ]))
    if not have_sms2010:
        print("\n2010-sms JSON send: MISSING (the gateway does not serve "
              "/2010-04-01/.../SMS/Messages.json yet)")
    print()


def print_rss(marks: list[tuple[int, float]]) -> None:
    (_, start), (n1, mid), (n2, end) = marks
    print(f"gateway RSS: {start:.1f} MiB at start, {mid:.1f} MiB after {n1} requests, "
          f"{end:.1f} MiB after {n2}; growth over the second half {end - mid:+.1f} MiB")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one short round, 10k requests for RSS")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5.0, help="per throughput measurement")
    p.add_argument("--lat-seconds", type=float, default=4.0, help="per latency measurement")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--rss-requests", type=int, default=100_000)
    p.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS",
                   help="also measure a gateway started with these extra `serve` arguments, "
                        "e.g. nolog='--log-level WARNING' (repeatable)")
    args = p.parse_args(argv)
    try:
        args.variants = [(name, shlex.split(extra)) for name, extra in
                         (v.split("=", 1) for v in args.variant)]
    except ValueError:
        p.error("--variant takes NAME=ARGS")
    if args.quick:
        # 10k for RSS, not more: at the list's pace it would take most of a quick run's time.
        args.rounds, args.seconds, args.lat_seconds, args.rss_requests = 1, 2.0, 2.0, 10_000
    if not (HERE / "wrk_report.lua").exists():
        sys.exit("tests/bench/wrk_report.lua is missing")
    run(args)


if __name__ == "__main__":
    main()
