"""Microbenchmarks of the pure translation path, each relative to a trivial baseline measured in
the same run (stdlib ``json.loads`` of one current-API message)."""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

from gateway.dialects.v2008 import render
from gateway.mapping.dates import format_legacy
from gateway.mapping.numbers import normalise
from gateway.model import Page
from gateway.upstream import http
from gateway.upstream import messages_json as wire
from tests.v2008 import golden_cases as cases

# Printable ASCII as most bodies are; the golden cases in tests/v2008/golden_cases.py cover the rest.
MESSAGE = {**cases.BASE, "body": "Hello from the benchmark, a message of ordinary length."}
RAW_MESSAGE = json.dumps(MESSAGE).encode()
RAW_PAGE = json.dumps({
    # Distinct sids and dates, as a real page has.
    "messages": [
        {**MESSAGE, "sid": f"SM{i:032x}", "date_created": f"Mon, 06 Jul 2009 17:{i:02d}:25 +0000"}
        for i in range(50)
    ],
    "next_page_uri": None, "page": 0, "page_size": 50,
}).encode()
OPTS = render.RenderOptions()
LIST_PATH = "/2008-08-01/Accounts/" + MESSAGE["account_sid"] + "/SMS/Messages"


def message_to_xml() -> bytes:
    msg = wire.message_from_json(http.decode_json(RAW_MESSAGE))
    return render.render_message("xml", render.message_row(msg, OPTS))[0]


def page_to_xml() -> bytes:
    data = http.decode_json(RAW_PAGE)
    messages = tuple(wire.message_from_json(m) for m in data["messages"])
    page = Page(messages=messages, page=0, page_size=50, total=50, num_pages=1,
                total_is_exact=True, has_next=False, upstream_requests=1)
    attrs = render.page_attributes(page, LIST_PATH, [])
    return render.render_list("xml", attrs, [render.message_row(m, OPTS) for m in messages])[0]


def page_to_xml_cold() -> bytes:
    # A page never seen before: no cached dates or built message elements.
    format_legacy.cache_clear()
    render.message_xml.cache_clear()
    render.message_row.cache_clear()
    wire.message_of.cache_clear()
    return page_to_xml()


def number_cold() -> str | None:
    return normalise.__wrapped__("(415) 555-1212", "US")


def number_cached() -> str | None:
    return normalise("(415) 555-1212", "US")


def baseline() -> object:
    return json.loads(RAW_MESSAGE)


CASES: list[tuple[str, Callable[[], object]]] = [
    ("baseline: json.loads of one message", baseline),
    ("current JSON message -> 2008 XML", message_to_xml),
    ("50-message page JSON -> 2008 XML (repeated)", page_to_xml),
    ("50-message page JSON -> 2008 XML (first time)", page_to_xml_cold),
    ("number normalisation, cold", number_cold),
    ("number normalisation, cached", number_cached),
]


def per_call_us(fn: Callable[[], object], quick: bool) -> float:
    timer = timeit.Timer(fn)
    n, _ = timer.autorange()
    best = min(timer.repeat(repeat=3 if quick else 7, number=n))
    return best / n * 1e6


def report(quick: bool = False) -> None:
    results = [(name, per_call_us(fn, quick)) for name, fn in CASES]
    base = results[0][1]
    width = max(len(n) for n, _ in results)
    print(f"| {'pure translation'.ljust(width)} | us/call | x baseline |")
    print(f"| {'-' * width} | ------- | ---------- |")
    for name, us in results:
        print(f"| {name.ljust(width)} | {us:7.1f} | {us / base:10.1f} |")


if __name__ == "__main__":
    report()
