"""Twilio's tolerance of repeated and trailing slashes, in both dialects and the current-API
passthrough, on the real gateway process (the rewrite happens before routing, in the server),
and the traversal attempts that must still get the legacy 404."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from gateway.pathnorm import canonical, rewrite_target
from tests.ops.conftest import ROOT, GatewayProcess, StartGateway
from tests.support.auth import basic_auth

ACCOUNT = "AC" + "7" * 32
AUTH = basic_auth(ACCOUNT, "path-test-token")
FORM = "application/x-www-form-urlencoded"


async def raw(
    gw: GatewayProcess, method: str, target: str, body: str = ""
) -> tuple[int, bytes]:
    """Send ``target`` exactly as written (no client library normalises it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: api.twilio.com\r\nConnection: close\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nContent-Type: {FORM}\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n"
    )
    writer.write(head.encode() + body.encode())
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


SEND = "From=4158141829&To=4159352345&Body=slashes"


async def test_2008_dialect_accepts_repeated_and_trailing_slashes(
    start_gateway: StartGateway,
) -> None:
    gw = await start_gateway("--sandbox", "--sandbox-tick", "0", "--port", "0")
    # What a 2010-era client of the 2008 API sends: endpoint + "/" + "/2008-08-01/...".
    status, body = await raw(gw, "POST", f"//2008-08-01/Accounts/{ACCOUNT}/SMS/Messages", SEND)
    assert status == 201, body
    sid = ElementTree.fromstring(body).findtext("SMSMessage/Sid")
    assert sid and sid.startswith("SM")

    for target in (
        f"/2008-08-01//Accounts//{ACCOUNT}/SMS/Messages/{sid}/",
        f"//2008-08-01/Accounts/{ACCOUNT}//SMS//Messages//{sid}",
    ):
        status, body = await raw(gw, "GET", target)
        assert status == 200, (target, body)
        assert ElementTree.fromstring(body).findtext("SMSMessage/Sid") == sid

    status, body = await raw(gw, "GET", f"///2008-08-01/Accounts/{ACCOUNT}/SMS/Messages/?num=1")
    assert status == 200, body
    listed = ElementTree.fromstring(body).find("SMSMessages")
    assert listed is not None and listed.get("pagesize") == "1"
    assert [m.findtext("Sid") for m in listed] == [sid]


async def test_sms2010_dialect_and_passthrough_accept_them(start_gateway: StartGateway) -> None:
    gw = await start_gateway("--sandbox", "--sandbox-tick", "0", "--port", "0")
    status, body = await raw(
        gw, "POST", f"/2010-04-01//Accounts/{ACCOUNT}/SMS//Messages.json/", SEND
    )
    assert status == 201, body
    sid = json.loads(body)["sid"]
    # The URIs the gateway writes are canonical whatever the request looked like.
    assert json.loads(body)["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages/{sid}.json"

    status, body = await raw(gw, "GET", f"//2010-04-01/Accounts/{ACCOUNT}/SMS/Messages/{sid}/")
    assert status == 200, body
    assert b"<Sid>" + sid.encode() + b"</Sid>" in body  # no suffix: the XML default

    # The current API through the passthrough: forwarded with the canonical path.
    status, body = await raw(gw, "GET", f"/2010-04-01///Accounts/{ACCOUNT}/Messages.json/")
    assert status == 200, body
    assert [m["sid"] for m in json.loads(body)["messages"]] == [sid]
    status, body = await raw(gw, "GET", f"//2010-04-01/Accounts/{ACCOUNT}//Messages/{sid}.json")
    assert status == 200, body
    assert json.loads(body)["sid"] == sid


async def test_workers_rewrite_as_the_single_process_does(start_gateway: StartGateway) -> None:
    gw = await start_gateway("--sandbox", "--sandbox-tick", "0", "--port", "0", "--workers", "2")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while sum("gateway listening on http" in line for line in gw.lines) < 2:
        assert loop.time() < deadline, "\n".join(gw.lines)
        await asyncio.sleep(0.05)
    # Whichever worker the kernel hands each connection to, the slashes are merged before
    # routing (the workers start their servers through the same function as one process).
    for _ in range(6):
        status, body = await raw(
            gw, "POST", f"//2008-08-01/Accounts/{ACCOUNT}//SMS/Messages/", SEND
        )
        assert status == 201, body
        assert (ElementTree.fromstring(body).findtext("SMSMessage/Sid") or "").startswith("SM")


async def test_traversal_attempts_still_get_the_legacy_404(start_gateway: StartGateway) -> None:
    gw = await start_gateway("--sandbox", "--sandbox-tick", "0", "--port", "0")
    messages = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    for target in (
        f"//2008-08-01/Accounts/{ACCOUNT}/SMS/Messages/../../../..{messages}",
        f"/2008-08-01//Accounts/..//..//2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        f"//2008-08-01/Accounts/{ACCOUNT}/SMS/Messages/%2e%2e/%2e%2e/",
    ):
        status, body = await raw(gw, "GET", target)
        assert status == 404, (target, body)
        # The 2008 shape, in the format of the path's suffix.
        assert b"<Status>404</Status>" in body or b'"Status": "404"' in body, body
    for target in (
        f"/2010-04-01//Accounts/{ACCOUNT}/SMS/..//..//{ACCOUNT}/Messages.json",
        f"//2010-04-01/Accounts/{ACCOUNT}/Messages/..//..//..//Accounts.json/",
        f"/2010-04-01/Accounts/{ACCOUNT}//Messages%2F..%2F..%2FCalls.json",
    ):
        status, body = await raw(gw, "GET", target)
        assert status == 404, (target, body)
        assert b"<Code>20404</Code>" in body or b'"code":20404' in body, body


def test_only_api_paths_are_rewritten() -> None:
    assert canonical("//2008-08-01/Accounts/AC1/SMS/Messages") == (
        "/2008-08-01/Accounts/AC1/SMS/Messages"
    )
    assert canonical("/2010-04-01/Accounts/AC1/SMS/Messages.json/") == (
        "/2010-04-01/Accounts/AC1/SMS/Messages.json"
    )
    assert canonical("/2008-08-01/Accounts/AC1/SMS/Messages") is None  # already canonical
    assert canonical("//healthz") is None and canonical("/callbacks/x/") is None
    assert canonical("//2008-08-010/x") is None  # not an API version
    assert canonical("http://api.twilio.com//2008-08-01/") is None  # absolute form: untouched
    assert rewrite_target("//2010-04-01/Accounts/AC1/Messages.json/?To=%2B1//x") == (
        "/2010-04-01/Accounts/AC1/Messages.json?To=%2B1//x"  # the query is not a path
    )


_SEGMENT = st.sampled_from(["Accounts", "AC1", "SMS", "Messages", "..", ".", "%2e%2e", "%2F", ""])


@given(
    version=st.sampled_from(["2008-08-01", "2010-04-01"]),
    segments=st.lists(_SEGMENT, max_size=8),
    leading=st.integers(1, 3),
    trailing=st.integers(0, 2),
)
def test_the_rewrite_only_merges_slashes(
    version: str, segments: list[str], leading: int, trailing: int
) -> None:
    path = "/" * leading + version + "".join("/" + s for s in segments) + "/" * trailing
    fixed = canonical(path) or path
    # The non-empty segments, dot segments and escapes included, are kept as they came, in
    # order: no traversal can appear or disappear.
    assert [s for s in fixed.split("/") if s] == [s for s in path.split("/") if s]
    assert "//" not in fixed and not fixed.endswith("/")


async def test_the_sandbox_alone_tolerates_them_too() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "sandbox", "--host", "127.0.0.1", "--port", "0",
        "--log-format", "text", stderr=asyncio.subprocess.PIPE, cwd=str(ROOT),
    )
    try:
        assert proc.stderr is not None
        found = None
        while found is None:  # (a warning may come first)
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert line, "the sandbox exited"
            found = re.search(rb"sandbox listening on http://127\.0\.0\.1:(\d+)", line)
        gw = GatewayProcess(proc, port=int(found.group(1)))
        status, body = await raw(gw, "GET", f"//2010-04-01/Accounts/{ACCOUNT}/Messages.json/")
        assert status == 200, body
        assert json.loads(body)["messages"] == []
    finally:
        proc.terminate()
        await proc.wait()
