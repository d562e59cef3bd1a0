"""The issue's naive design: a straightforward aiohttp proxy (uvloop when installed, one
ClientSession, ``await resp.json()``, lxml rendering) serving the three 2008-08-01 operations
bench_gateway measures -- send, fetch, list -- each with one call to the current Messages API.
Written the plain way on purpose (no caches, no shortcuts): it is the yardstick the gateway's
figures are compared with, not a second gateway. It knows nothing of filters, formats other
than XML, pages after the first (``Page`` is not read: a later page needs the cursor walk), list
totals (a cursor page has none, so ``total``/``numpages`` are left out), number formats other
than +1, or the gateway's error details.
Run: python -m tests.bench.naiveproxy PORT UPSTREAM_URL"""

from __future__ import annotations

import sys
from typing import Any

from aiohttp import web
from lxml import etree

from tests.bench.floorproxy import SESSION, UPSTREAM, proxy_app, serve

STATUS = {"accepted": "queued", "queued": "queued", "sending": "sending", "sent": "sent",
          "delivered": "sent", "received": "sent", "failed": "failed", "undelivered": "failed"}
FLAGS = {"inbound": 1, "outbound-reply": 2, "outbound-api": 4}


def national(number: str) -> str:
    return number.removeprefix("+1")


def e164(number: str) -> str:
    return "+1" + "".join(c for c in number if c.isdigit())


def message_element(m: dict[str, Any]) -> etree._Element:
    el = etree.Element("SMSMessage")
    for name, value in (
        ("Sid", m["sid"]), ("DateCreated", m["date_created"]),
        ("DateUpdated", m["date_updated"]), ("DateSent", m["date_sent"]),
        ("AccountSid", m["account_sid"]), ("To", national(m["to"])),
        ("From", national(m["from"])), ("Body", m["body"]),
        ("Status", STATUS.get(m["status"], "sending")), ("Flags", str(FLAGS.get(m["direction"], 0))),
    ):
        etree.SubElement(el, name).text = value
    return el


def xml(root: etree._Element, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type="application/xml", charset="utf-8",
                        body=etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


async def call(request: web.Request, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    url = f"{request.app[UPSTREAM]}/2010-04-01/Accounts/{request.match_info['acc']}{path}"
    headers = {"Authorization": request.headers.get("Authorization", "")}
    async with request.app[SESSION].request(method, url, headers=headers, **kw) as resp:
        return resp.status, await resp.json()


def error(status: int, doc: dict[str, Any]) -> web.Response:
    root = etree.Element("TwilioResponse")
    exc = etree.SubElement(root, "RestException")
    etree.SubElement(exc, "Status").text = str(status)
    etree.SubElement(exc, "Message").text = str(doc.get("message", ""))
    return xml(root, status)


def one_message(status: int, doc: dict[str, Any], ok: int = 200) -> web.Response:
    if status >= 400:
        return error(status, doc)
    root = etree.Element("TwilioResponse")
    root.append(message_element(doc))
    return xml(root, ok)


async def send(request: web.Request) -> web.Response:
    form = await request.post()
    data = {"To": e164(str(form["To"])), "From": e164(str(form["From"])),
            "Body": str(form["Body"])}
    return one_message(*await call(request, "POST", "/Messages.json", data=data), ok=201)


async def fetch(request: web.Request) -> web.Response:
    return one_message(*await call(request, "GET", f"/Messages/{request.match_info['sid']}.json"))


async def listing(request: web.Request) -> web.Response:
    num = int(request.query.get("num", "50"))
    status, doc = await call(request, "GET", "/Messages.json", params={"PageSize": num})
    if status >= 400:
        return error(status, doc)
    root = etree.Element("TwilioResponse")
    messages = etree.SubElement(root, "SMSMessages")
    uri = f"{request.path}?num={num}"
    for key, value in (
        ("page", "0"), ("pagesize", str(num)), ("start", "0"),
        ("end", str(max(len(doc["messages"]) - 1, 0))), ("uri", uri), ("firstpageuri", uri),
        ("previouspageuri", ""),
        ("nextpageuri", f"{uri}&Page=1" if doc["next_page_uri"] else ""),
    ):
        messages.set(key, value)
    for m in doc["messages"]:
        messages.append(message_element(m))
    return xml(root)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = proxy_app(sys.argv[2])
    base = "/2008-08-01/Accounts/{acc}/SMS/Messages"
    app.router.add_post(base, send)
    app.router.add_get(base, listing)
    app.router.add_get(base + "/{sid}", fetch)
    app.router.add_get("/healthz", healthz)
    serve(app, int(sys.argv[1]))


if __name__ == "__main__":
    main()
