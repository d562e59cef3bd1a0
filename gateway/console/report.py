"""The migration report of one account: for each legacy behaviour its traffic shows, what the
current Messages API offers instead, what the application must change, and the share of the
account's legacy requests (last 7 days) that depend on it. JSON and CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Final

from gateway.console import features as feat
from gateway.console.view import AccountView, account_json


@dataclass(frozen=True, slots=True)
class Advice:
    title: str
    legacy: str
    current: str
    change: str


ADVICE: Final[dict[str, Advice]] = {
    "dialect_v2008": Advice(
        "2008-08-01 API",
        "/2008-08-01/Accounts/{AccountSid}/SMS/Messages",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        "Call the current Messages resource; read the JSON fields (sid, status, date_sent, "
        "direction) instead of the 2008 XML elements and Flags.",
    ),
    "dialect_sms2010": Advice(
        "2010-04-01 /SMS/Messages resource",
        "/2010-04-01/Accounts/{AccountSid}/SMS/Messages",
        "/2010-04-01/Accounts/{AccountSid}/Messages.json (the /SMS/ resource answers 410 Gone)",
        "Drop /SMS from the path; read 'messages' instead of 'sms_messages'; statuses "
        "include delivered, undelivered, receiving and more.",
    ),
    "format_xml": Advice(
        "XML answers",
        "no suffix or .xml (TwilioResponse documents)",
        "JSON (.json)",
        "Parse JSON answers instead of XML.",
    ),
    "format_csv": Advice(
        ".csv answers",
        "Messages.csv",
        "none: the current API answers JSON only",
        "Build CSV from the JSON list yourself.",
    ),
    "format_html": Advice(
        ".html answers",
        "Messages.html",
        "none: the current API answers JSON only",
        "Render HTML from the JSON list yourself.",
    ),
    feat.PAGE_JUMP: Advice(
        "Page=N jumps",
        "Page=N without following nextpageuri",
        "PageToken cursors in next_page_uri; no random access",
        "Walk the list from page 0 with next_page_uri, or narrow it with DateSent filters "
        "instead of jumping to a page number.",
    ),
    feat.PAGE_FOLLOW: Advice(
        "Page numbers followed",
        "Page=N+1 from nextpageuri",
        "next_page_uri (with PageToken)",
        "Follow next_page_uri (snake_case) until it is null.",
    ),
    feat.TOTALS: Advice(
        "Totals",
        "total, numpages, lastpageuri in list answers",
        "none: no total, num_pages or last_page_uri (removed in 2015)",
        "Do not rely on totals: count while walking the list, or keep your own count.",
    ),
    feat.PAGE_SIZE_OVER_50: Advice(
        "Pages over 50",
        "num (2008) / PageSize above 50",
        "PageSize 1..1000",
        "Send PageSize (not num); sizes up to 1000 still work.",
    ),
    feat.DATE_SENT_FILTER: Advice(
        "DateSent filters",
        "DateSent, DateSent>=, DateSent<= (days)",
        "DateSent, DateSent>, DateSent< (a day or a timestamp)",
        "Write DateSent> and DateSent< instead of >= and <=.",
    ),
    feat.STATUS_CALLBACK: Advice(
        "StatusCallback",
        "one callback with SmsSid and SmsStatus=sent|failed",
        "a callback per status change with MessageSid and MessageStatus "
        "(queued, sent, delivered, undelivered, failed...)",
        "Read MessageStatus instead of SmsStatus; expect several callbacks per message and "
        "treat delivered/undelivered as final.",
    ),
    "callback_relay": Advice(
        "Status callbacks relayed",
        "SmsSid, SmsStatus posted to the app",
        "MessageSid, MessageStatus",
        "Accept the current parameters (SmsStatus -> MessageStatus) and check signatures "
        "for the new payload.",
    ),
    "inbound_webhook": Advice(
        "Inbound SMS webhooks",
        "SmsSid, AccountSid, From, To, Body",
        "MessageSid, SmsMessageSid, NumMedia, NumSegments and more",
        "Read MessageSid; numbers arrive in E.164.",
    ),
    feat.SMS_TWIML: Advice(
        "<Sms> TwiML",
        "<Sms> verb in the reply",
        "<Message> verb",
        "Answer with <Message> (<Sms> -> <Message>; to, from, action, statusCallback carry "
        "over).",
    ),
    feat.NON_E164: Advice(
        "Numbers not in E.164",
        "(415) 555-1212, 415-555-1212, 1 415 555 1212",
        "E.164 only (+14155551212)",
        "Normalise numbers to E.164 before sending or filtering.",
    ),
    feat.BODY_OVER_160: Advice(
        "Bodies over 160 refused",
        "error 21605 above 160 characters",
        "up to 1600 characters, sent in segments (21617 beyond)",
        "Stop splitting long texts yourself; handle 21617 instead of 21605.",
    ),
}


def _uses(view: AccountView) -> dict[str, int]:
    """Requests of the account per report item (dialects, formats, features, relays)."""
    uses: dict[str, int] = {}

    def add(name: str, count: int) -> None:
        uses[name] = uses.get(name, 0) + count

    for u in view.usage:
        if u.dialect in ("v2008", "sms2010"):
            add(f"dialect_{u.dialect}", u.requests)
            add(f"format_{u.format}", u.requests)
        elif u.dialect == "callback":
            add("callback_relay", u.requests)
        elif u.dialect == "inbound":
            add("inbound_webhook", u.requests)
    for name, count in view.feature_totals().items():
        add(name, count)
    return {name: n for name, n in uses.items() if name in ADVICE and n}


def build(view: AccountView) -> dict[str, Any]:
    total = view.requests_week
    uses = _uses(view)
    order = list(ADVICE)
    items = [
        {
            "feature": name,
            "title": ADVICE[name].title,
            "legacy": ADVICE[name].legacy,
            "current": ADVICE[name].current,
            "change": ADVICE[name].change,
            "requests": count,
            "share": round(count / total, 4) if total else 0.0,
            "clients": sorted(
                {u.client for u in view.features if u.feature == name}
                | {u.client for u in view.usage if _item_of(u.dialect, u.format, name)}
            ),
        }
        for name, count in sorted(uses.items(), key=lambda kv: order.index(kv[0]))
    ]
    summary = account_json(view)
    return {
        "account_sid": view.account,
        "window_days": len(view.daily),
        "requests": total,
        "first_seen": summary["first_seen"],
        "last_seen": summary["last_seen"],
        "clients": summary["clients"],
        "items": items,
    }


def _item_of(dialect: str, fmt: str, name: str) -> bool:
    if dialect in ("v2008", "sms2010"):
        return name in (f"dialect_{dialect}", f"format_{fmt}")
    return (dialect, name) in (("callback", "callback_relay"), ("inbound", "inbound_webhook"))


CSV_COLUMNS: Final = (
    "account_sid", "feature", "title", "requests", "share", "clients", "legacy", "current",
    "change",
)


def as_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in report["items"]:
        writer.writerow(
            [report["account_sid"], item["feature"], item["title"], item["requests"],
             f"{item['share']:.4f}", " ".join(item["clients"]), item["legacy"],
             item["current"], item["change"]]
        )
    return out.getvalue()
