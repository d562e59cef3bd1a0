"""Inputs whose 2008 renderings tests/v2008/golden.json holds, as rendered by the translation
code before the performance work (generate with ``python -m tests.v2008.golden_cases``)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from gateway.dialects.v2008 import render
from gateway.model import Page
from gateway.upstream.messages_json import message_from_json

GOLDEN = Path(__file__).with_name("golden.json")

BASE = {
    "account_sid": "AC" + "4d" * 16, "api_version": "2010-04-01",
    "body": "Hello <there> & \"friends\" caf\u00e9 \U0001f600",
    "date_created": "Mon, 06 Jul 2009 17:06:25 +0000",
    "date_sent": "Mon, 06 Jul 2009 17:06:27 +0000",
    "date_updated": "Tue, 07 Jul 2009 01:02:03 -0700",
    "direction": "outbound-api", "error_code": None, "from": "+14155550000",
    "num_segments": "1", "price": "-0.00750", "price_unit": "USD",
    "sid": "SM" + "ab" * 16, "status": "delivered", "to": "+14155551212",
}
MESSAGES = [
    BASE,
    {**BASE, "sid": "SM" + "01" * 16, "date_sent": None, "status": "queued",
     "direction": "inbound", "to": "+442071838750", "from": "12345"},
    {**BASE, "sid": "SM" + "02" * 16, "body": "ctrl \x01\x0b tab\t nl\n cr\r ff\ufffe end",
     "date_created": "not a date", "status": "undelivered", "direction": "outbound-reply"},
    {**BASE, "sid": "SM" + "03" * 16, "body": "", "status": "receiving"},
]
OPTIONS = [
    render.RenderOptions(),
    render.RenderOptions(number_format="e164", outbound_call_flags=1,
                         legacy_timezone="America/Los_Angeles"),
    render.RenderOptions(number_format="as-sent", legacy_timezone="Asia/Kolkata"),
]
LIST_PATH = "/2008-08-01/Accounts/" + BASE["account_sid"] + "/SMS/Messages.xml"


def renderings() -> dict[str, str]:
    """Every case's bytes (base64) by a stable name."""
    out: dict[str, bytes] = {}
    msgs = [message_from_json(m) for m in MESSAGES]
    for o, opts in enumerate(OPTIONS):
        rows = [render.message_row(m, opts) for m in msgs]
        sent = render.message_row(msgs[0], opts, to_as_sent="(415) 555-1212",
                                  from_as_sent="415.555.0000")
        page = Page(messages=tuple(msgs), page=1, page_size=4, total=11, num_pages=3,
                    total_is_exact=True, has_next=True, upstream_requests=1)
        attrs = render.page_attributes(page, LIST_PATH, [("To", "+14155551212")])
        for fmt in render.CONTENT_TYPES:
            for i, row in enumerate(rows):
                out[f"{o}/{fmt}/message{i}"] = render.render_message(fmt, row)[0]
            out[f"{o}/{fmt}/sent"] = render.render_message(fmt, sent)[0]
            out[f"{o}/{fmt}/list"] = render.render_list(fmt, attrs, rows)[0]
            out[f"{o}/{fmt}/empty"] = render.render_list(fmt, attrs, [])[0]
    return {k: base64.b64encode(v).decode() for k, v in out.items()}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(renderings(), indent=1, sort_keys=True) + "\n")
