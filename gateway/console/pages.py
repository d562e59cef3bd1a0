"""The console's HTML pages, built as lxml trees (every text is escaped by construction) and
served with one stylesheet from the console itself: no scripts, no external resources."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import lxml.html
from lxml import etree
from lxml.builder import E

from gateway.console import charts
from gateway.console import features as feat
from gateway.console import report as report_mod
from gateway.console.auth import CSRF_FIELD
from gateway.console.sandbox_view import DeliveryRow, MessageRow, when
from gateway.console.state import Relay
from gateway.console.view import AccountView, LedgerView

BASE = "/console/"

STYLE = b"""
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#243b53;color:#fff;padding:10px 20px;display:flex;gap:24px;align-items:center}
header a{color:#d9e2ec;margin-right:14px}header h1{font-size:18px;margin:0}
main{padding:16px 20px}section{background:#fff;border:1px solid #d9e2ec;margin:0 0 16px;padding:12px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#f0f4f8}.num{text-align:right}.sunset{background:#f0b429;color:#1f2933;padding:4px 10px}
.tag{display:inline-block;background:#e4e7eb;border-radius:3px;padding:0 5px;margin:1px}
.step{display:inline-block;padding:0 6px;border-radius:3px;margin-right:2px}
.done{background:#c6f7e2}.current{background:#3b6ea5;color:#fff}.next{background:#e4e7eb;color:#7b8794}
.flash{background:#e3f8ff;border:1px solid #3b6ea5;padding:8px}.error{background:#ffe3e3;border-color:#cf1124}
form label{display:inline-block;margin-right:10px}
"""


def _title(name: str) -> str:
    advice = report_mod.ADVICE.get(name)
    return advice.title if advice else name


def _time(value: datetime | None) -> str:
    return when(value) if value else "-"


def _tags(names: Iterable[str]) -> list[etree._Element]:
    return [E.span({"class": "tag"}, n) for n in names]


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> etree._Element:
    table = E.table({"class": cls} if cls else {}, E.thead(E.tr(*[E.th(h) for h in head])))
    body = E.tbody()
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, int):
                cells.append(E.td({"class": "num"}, str(cell)))
            elif isinstance(cell, etree._Element):
                cells.append(E.td(cell))
            elif isinstance(cell, list):
                cells.append(E.td(*cell))
            else:
                cells.append(E.td(str(cell)))
        body.append(E.tr(*cells))
    table.append(body)
    return table


def document(title: str, content: list[etree._Element], *, sandbox: bool,
             days_left: int | None) -> bytes:
    nav = [E.a({"href": BASE}, "Ledger")]
    if sandbox:
        nav.append(E.a({"href": BASE + "sandbox"}, "Sandbox"))
    nav.append(E.a({"href": BASE + "api/ledger"}, "JSON"))
    head_items: list[etree._Element] = [E.h1("Migration console"), E.nav(*nav)]
    if days_left is not None:
        text = (f"Sunset in {days_left} days" if days_left >= 0
                else f"Sunset passed {-days_left} days ago")
        head_items.append(E.span({"class": "sunset", "id": "sunset"}, text))
    page = E.html(
        {"lang": "en"},
        E.head(
            E.meta({"charset": "utf-8"}),
            E.meta({"name": "viewport", "content": "width=device-width, initial-scale=1"}),
            E.title(f"{title} - migration console"),
            E.link({"rel": "stylesheet", "href": BASE + "style.css"}),
        ),
        E.body(E.header(*head_items), E.main(E.h2(title), *content)),
    )
    return lxml.html.tostring(page, doctype="<!DOCTYPE html>", encoding="utf-8")


def overview(view: LedgerView) -> list[etree._Element]:
    if not view.accounts:
        return [E.section(E.p("No legacy traffic recorded yet."))]
    hours = [f"{h:02d}:00" for h in range((view.generated.hour + 1) % 24, 24)]
    hours += [f"{h:02d}:00" for h in range(view.generated.hour + 1)]
    hours = hours[-24:]
    rows = []
    for a in view.accounts:
        rows.append([
            E.a({"href": f"{BASE}accounts/{a.account}"}, a.account),
            a.requests_day,
            charts.columns(list(a.hourly), hours, f"{a.account}: requests per hour, last day"),
            a.requests_week,
            charts.columns([n for _, n in a.daily], [d.isoformat() for d, _ in a.daily],
                           f"{a.account}: requests per day, last week", width=140),
            _tags(c.client for c in a.clients),
            _tags(a.dialects),
            _tags(f"{_title(k)} ({v})" for k, v in sorted(a.feature_totals().items())),
            _time(a.last_seen),
        ])
    totals: dict[str, int] = {}
    for a in view.accounts:
        for name, count in a.feature_totals().items():
            totals[name] = totals.get(name, 0) + count
    ordered = [(_title(n), totals[n]) for n in feat.RECORDED if totals.get(n)]
    return [
        E.section(
            E.h3("Legacy traffic per account"),
            _table(
                ["Account", "Last day", "Per hour", "Last week", "Per day", "Clients",
                 "Dialects", "Features", "Last seen"],
                rows, "accounts",
            ),
        ),
        E.section(
            E.h3("Legacy features in use (last week, all accounts)"),
            charts.bars(ordered, "Requests per legacy feature") if ordered
            else E.p("No legacy feature used."),
        ),
    ]


def account(a: AccountView, report: Mapping[str, Any]) -> list[etree._Element]:
    base = f"{BASE}api/accounts/{a.account}/report"
    items = [
        [i["title"], i["requests"], f"{i['share'] * 100:.1f}%", i["legacy"], i["current"],
         i["change"]]
        for i in report["items"]
    ]
    return [
        E.section(
            E.p(f"{a.requests_day} requests in the last day, {a.requests_week} in the last "
                f"week. First seen {_time(a.first_seen)}, last seen {_time(a.last_seen)}."),
            E.p(charts.columns([n for _, n in a.daily], [d.isoformat() for d, _ in a.daily],
                               "Requests per day, last week", width=420, height=80)),
        ),
        E.section(
            E.h3("Clients"),
            _table(["Client", "Requests", "First seen", "Last seen"],
                   [[c.client, c.requests, _time(c.first_seen), _time(c.last_seen)]
                    for c in a.clients]),
        ),
        E.section(
            E.h3("Requests"),
            _table(["Client", "Dialect", "Operation", "Format", "Requests"],
                   [[u.client, u.dialect, u.operation, u.format, u.requests] for u in a.usage]),
        ),
        E.section(
            E.h3("Migration report"),
            E.p(E.a({"href": base + ".json"}, "JSON"), " ", E.a({"href": base + ".csv"}, "CSV")),
            _table(["Legacy behaviour", "Requests", "Share", "Legacy", "Current API",
                    "What to change"], items, "report"),
        ),
    ]


def sandbox(
    rows: Sequence[MessageRow],
    deliveries: Sequence[DeliveryRow],
    relays: Sequence[Relay],
    csrf: str,
    flash: etree._Element | None,
) -> list[etree._Element]:
    def steps(row: MessageRow) -> list[etree._Element]:
        return [E.span({"class": f"step {s.state}"}, s.status) for s in row.steps]

    form = E.form(
        {"method": "post", "action": BASE + "sandbox/inject", "id": "inject"},
        E.input({"type": "hidden", "name": CSRF_FIELD, "value": csrf}),
        E.label("AccountSid ", E.input({"name": "AccountSid", "size": "36", "required": ""})),
        E.label("From ", E.input({"name": "From", "required": ""})),
        E.label("To ", E.input({"name": "To", "required": ""})),
        E.label("Body ", E.input({"name": "Body", "size": "40"})),
        E.button({"type": "submit"}, "Inject inbound SMS"),
    )
    content = [flash] if flash is not None else []
    return content + [
        E.section(E.h3("Inject an inbound SMS"), form),
        E.section(
            E.h3("Messages"),
            _table(
                ["Created", "Sid", "Account", "Direction", "From", "To", "Body", "Progression",
                 "Status callbacks"],
                [[when(r.created), r.sid, r.account, r.direction, r.from_, r.to, r.body,
                  steps(r), _tags(r.callbacks)] for r in rows],
                "messages",
            ),
        ),
        E.section(
            E.h3("Relayed to legacy apps by the gateway"),
            _table(["At", "Kind", "Account", "Answer"],
                   [[when(datetime.fromtimestamp(r.at, UTC)), r.kind, r.account,
                     r.status] for r in relays], "relays"),
        ),
        E.section(
            E.h3("Callbacks and webhooks the sandbox sent"),
            _table(["Kind", "Method", "Target", "Message status", "Answer", "Attempts"],
                   [[d.kind, d.method, d.target, d.message_status, d.status, d.attempts]
                    for d in deliveries], "deliveries"),
        ),
    ]


def flash(params: Mapping[str, str]) -> etree._Element | None:
    if "injected" in params:
        status = params.get("sms_url_status") or "no SMS URL"
        return E.p({"class": "flash", "id": "flash"},
                   f"Inbound message {params['injected']} stored; SMS URL answered {status}; "
                   f"{params.get('replies', '0')} reply message(s) sent.")
    if "inject_error" in params:
        return E.p({"class": "flash error", "id": "flash"},
                   f"Not injected: error {params['inject_error']}.")
    return None
