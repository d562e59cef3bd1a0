"""The unmodified PyPI client twilio==5.7.0 (``TwilioRestClient(...).sms.messages``), the last
line of twilio-python that called the deprecated /SMS/Messages resource, run against the
gateway over real TCP in both upstream modes. Its httplib2 layer sends each request without
credentials first and only retries with them after the gateway's Basic challenge."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.sandbox.app import LIFECYCLE, REQUEST_LOG
from tests.sms2010.conftest import ACCOUNT, TOKEN, UPSTREAM_MODES
from tests.support.legacy_clients import run_script

SCRIPT = r'''
import json, sys, urllib.parse
sys.modules["urlparse"] = urllib.parse  # twilio 5.x imports the Python 2 module name
from twilio import TwilioRestException
from twilio.rest import TwilioRestClient

base, account, token, step = sys.argv[1:5]
client = TwilioRestClient(account, token, base=base)
out = {}
if step == "send":
    sent = [client.sms.messages.create(to="(415) 935-2345", from_="+14158141829",
                                       body="Jenny please?! I love you <3"),
            client.sms.messages.create(to="+14158675309", from_="+14158141829", body="second")]
    out["sent"] = [{"sid": m.sid, "to": m.to, "from": m.from_, "body": m.body,
                    "status": m.status, "date_created": str(m.date_created),
                    "uri": m.uri} for m in sent]
    try:
        client.sms.messages.create(to="(xxx) xxx-xxx", from_="+14158141829", body="hi")
    except TwilioRestException as exc:
        out["error"] = {"status": exc.status, "code": exc.code, "msg": exc.msg}
else:
    sid = sys.argv[5]
    got = client.sms.messages.get(sid)
    out["got"] = {"sid": got.sid, "status": got.status, "body": got.body,
                  "direction": got.direction, "date_sent": str(got.date_sent)}
    out["listed"] = [m.body for m in client.sms.messages.list()]
    out["filtered"] = [m.body for m in client.sms.messages.list(to="+14158675309")]
    out["paged"] = [m.body for m in client.sms.messages.list(page=1, page_size=1)]
    # (iter() cannot be used: it raises StopIteration inside a generator, which Python 3.7+
    # turns into a RuntimeError. Page by number instead, as its list() docs say.)
    out["paged_all"] = [m.body for n in range(3)
                        for m in client.sms.messages.list(page=n, page_size=1)]
print(json.dumps(out))
'''

Server = Callable[..., Awaitable[TestServer]]


async def _client(server: TestServer, *args: str) -> dict[str, object]:
    base = str(server.make_url("")).rstrip("/")
    # The client blocks; the gateway and the sandbox keep serving on this loop meanwhile.
    try:
        out = await asyncio.to_thread(
            run_script, "twilio==5.7.0", SCRIPT, base, ACCOUNT, TOKEN, *args, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"twilio 5.7.0 failed:\n{exc.stderr}")
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("upstream_api", UPSTREAM_MODES)
async def test_twilio_5_7_0_sms_messages(
    aiohttp_server: Server, sandbox: TestServer, upstream_api: str
) -> None:
    app = create_app(Settings(upstream_api=upstream_api), upstream_url=str(sandbox.make_url("")))
    server = await aiohttp_server(app, host="127.0.0.1", port=0)

    result = await _client(server, "send")
    first, second = result["sent"]  # type: ignore[misc]
    assert second["to"] == "+14158675309"
    assert first["to"] == "+14159352345" and first["from"] == "+14158141829"
    assert first["body"] == "Jenny please?! I love you <3" and first["status"] == "queued"
    assert first["date_created"].startswith("20")  # parsed from RFC 2822 into a datetime
    # The library names the instance after its own base URL: the gateway's.
    base = str(server.make_url("")).rstrip("/")
    assert first["uri"] == f"{base}/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages/{first['sid']}"
    assert result["error"] == {"status": 400, "code": 21211, "msg": result["error"]["msg"]}  # type: ignore[index]
    upstream = "/SMS/Messages.json" if upstream_api == "sms2010" else "/Messages.json"
    posted = sandbox.app[REQUEST_LOG].last("POST")
    assert posted is not None and posted.path == f"/2010-04-01/Accounts/{ACCOUNT}{upstream}"

    await sandbox.app[LIFECYCLE].settle()
    result = await _client(server, "read", first["sid"])
    assert result["got"] == {
        "sid": first["sid"], "status": "sent", "body": "Jenny please?! I love you <3",
        "direction": "outbound-api", "date_sent": result["got"]["date_sent"],  # type: ignore[index]
    }
    assert result["got"]["date_sent"] != "None"  # type: ignore[index]
    assert sorted(result["listed"]) == sorted(["Jenny please?! I love you <3", "second"])  # type: ignore[arg-type]
    assert result["filtered"] == ["second"]
    assert len(result["paged"]) == 1  # type: ignore[arg-type]
    assert result["paged_all"] == result["listed"]  # page by page, the same newest-first list
