"""Canonical messages, pages and errors -> 2008-08-01 bytes (XML, JSON, CSV, HTML). Pure.

Every answer is first reduced to ordered (name, string) pairs -- a message row, the list's
attributes, an error -- and each format serialises those pairs; the field order and values are
therefore decided once, and the formats cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import urlencode

from lxml import etree

from gateway.config import Settings
from gateway.mapping.dates import format_legacy
from gateway.mapping.flags import flags_2008
from gateway.mapping.numbers import render_2008
from gateway.mapping.status import status_2008
from gateway.model import ApiError, Message, Page

Row = tuple[tuple[str, str], ...]
Rendered = tuple[bytes, str]  # (body, Content-Type)

MESSAGE_ELEMENTS: Final = (
    "Sid", "DateCreated", "DateUpdated", "DateSent", "AccountSid",
    "To", "From", "Body", "Status", "Flags",
)
LIST_ATTRIBUTES: Final = (
    "page", "numpages", "pagesize", "total", "start", "end",
    "uri", "firstpageuri", "previouspageuri", "nextpageuri", "lastpageuri",
)
ROOT: Final = "TwilioResponse"
MESSAGE: Final = "SMSMessage"
LIST: Final = "SMSMessages"
ERROR: Final = "RestException"

CONTENT_TYPES: Final = {
    "xml": "application/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}

XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ROOT_START: Final = b"<" + ROOT.encode() + b">"
ROOT_END: Final = b"</" + ROOT.encode() + b">"
LIST_TAG: Final = LIST.encode()

# Characters XML 1.0 cannot carry at all, not even escaped (C0 controls other than tab, LF, CR;
# lone surrogates; U+FFFE/U+FFFF). They become U+FFFD so the document stays well-formed and the
# client still sees that something was there.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT: Final = "\ufffd"


def xml_safe(text: str) -> str:
    # Printable ASCII (nearly every value) has nothing to replace; the check is far cheaper.
    if text.isascii() and text.isprintable():
        return text
    return _XML_FORBIDDEN.sub(REPLACEMENT, text)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """The settings that change how a message looks in the 2008 dialect."""

    number_format: str = "national"
    outbound_call_flags: int = 0
    legacy_timezone: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderOptions:
        return cls(
            number_format=settings.number_format,
            outbound_call_flags=settings.outbound_call_flags,
            legacy_timezone=settings.legacy_timezone,
        )


# --- rows --------------------------------------------------------------------------------------


# Rows by message: the messages a poller reads again are the very same Message objects
# (gateway.upstream.messages_json looks them up), and hashing one costs less than building its row.
@lru_cache(maxsize=2048)
def message_row(
    msg: Message,
    opts: RenderOptions,
    *,
    to_as_sent: str | None = None,
    from_as_sent: str | None = None,
) -> Row:
    """A canonical message as the 2008 fields, in the 2008 order, as strings."""
    tz = opts.legacy_timezone
    return (
        ("Sid", msg.sid),
        ("DateCreated", format_legacy(msg.date_created, tz)),
        ("DateUpdated", format_legacy(msg.date_updated, tz)),
        ("DateSent", format_legacy(msg.date_sent, tz)),
        ("AccountSid", msg.account_sid),
        ("To", render_2008(msg.to, opts.number_format, to_as_sent)),
        ("From", render_2008(msg.from_, opts.number_format, from_as_sent)),
        ("Body", msg.body),
        ("Status", status_2008(msg.status)),
        ("Flags", str(flags_2008(msg.direction, opts.outbound_call_flags))),
    )


def page_attributes(page: Page, list_path: str, filters: Sequence[tuple[str, str]]) -> Row:
    """The ``<SMSMessages>`` attributes for one page. Links point back at the gateway's 2008
    list (``list_path``, suffix included) with the same filters; what is unknown -- total,
    numpages and lastpageuri when no total was computed -- is left out, while a link that is
    known not to exist (previous of page 0, next of the last page) is present and empty."""

    def link(number: int) -> str:
        paging = [("Page", str(number)), ("num", str(page.page_size))]
        return list_path + "?" + urlencode([*filters, *paging])

    has_next = page.has_next or (page.num_pages is not None and page.page + 1 < page.num_pages)
    attrs: list[tuple[str, str]] = [("page", str(page.page))]
    if page.num_pages is not None:
        attrs.append(("numpages", str(page.num_pages)))
    attrs.append(("pagesize", str(page.page_size)))
    if page.total is not None:
        attrs.append(("total", str(page.total)))
    attrs += [
        ("start", str(page.start)),
        ("end", str(page.end)),
        ("uri", link(page.page)),
        ("firstpageuri", link(0)),
        ("previouspageuri", link(page.page - 1) if page.page > 0 else ""),
        ("nextpageuri", link(page.page + 1) if has_next else ""),
    ]
    if page.num_pages is not None:
        attrs.append(("lastpageuri", link(max(page.num_pages - 1, 0))))
    return tuple(attrs)


def error_row(err: ApiError) -> Row:
    """Status and Message always; Code and MoreInfo only when the error has a code."""
    row: list[tuple[str, str]] = [("Status", str(err.status)), ("Message", err.message)]
    if err.code is not None:
        row.append(("Code", str(err.code)))
        if err.more_info:
            row.append(("MoreInfo", err.more_info))
    return tuple(row)


# --- formats -----------------------------------------------------------------------------------


def render_message(fmt: str, row: Row) -> Rendered:
    return _render(fmt, MESSAGE, row)


def render_error(fmt: str, err: ApiError) -> Rendered:
    return _render(fmt, ERROR, error_row(err))


def _render(fmt: str, name: str, row: Row) -> Rendered:
    if fmt == "json":
        return _json({ROOT: {name: dict(row)}})
    if fmt == "csv":
        return _csv([row])
    if fmt == "html":
        return _html([row], caption=name)
    if name == MESSAGE:
        return _xml_document(message_xml(row))
    root = etree.Element(ROOT)
    _xml_fields(etree.SubElement(root, name), row)
    return _xml(root)


def render_list(fmt: str, attrs: Row, rows: Sequence[Row]) -> Rendered:
    """A page. JSON: the attributes as string keys of ``SMSMessages`` plus ``SMSMessage``,
    always an array (even of 0 or 1). CSV: the header and one line per message (a CSV has no
    place for paging attributes). HTML: a table of the attributes, then one of the messages."""
    if fmt == "json":
        return _json({ROOT: {LIST: {**dict(attrs), MESSAGE: [dict(r) for r in rows]}}})
    if fmt == "csv":
        return _csv(rows, header=MESSAGE_ELEMENTS)
    if fmt == "html":
        return _html(rows, caption=LIST, attrs=attrs, header=MESSAGE_ELEMENTS)
    listing = etree.Element(LIST)
    for key, value in attrs:
        listing.set(key, xml_safe(value))
    # lxml writes the childless element as <SMSMessages .../>: that is the start tag to put the
    # serialised messages into.
    empty = etree.tostring(listing, encoding="UTF-8", xml_declaration=False)
    if not rows:
        return _xml_document(empty)
    return _xml_document(
        b"".join([empty[:-2], b">", *map(message_xml, rows), b"</", LIST_TAG, b">"])
    )


def _xml_fields(parent: etree._Element, row: Row) -> None:
    for key, value in row:
        # Empty values as self-closing elements (<DateSent/>), as Twilio wrote them.
        etree.SubElement(parent, key).text = xml_safe(value) or None


def _template(name: str, children: Sequence[str]) -> etree._Element:
    element = etree.Element(name)
    for child in children:
        etree.SubElement(element, child)
    return element


# Every message row has the same ten elements in the same order: copying a prebuilt element
# (one C call) costs a fraction of creating ten sub-elements by name for each message.
_MESSAGE_TEMPLATE: Final = _template(MESSAGE, MESSAGE_ELEMENTS)


# Serialised <SMSMessage> elements by row: pollers ask for the same page, and status checkers
# for the same message, again and again, and a message's bytes are the same wherever it stands
# in a document (no namespaces, no tails). Bounded (~0.5 KiB an entry); a row holds no
# credentials.
@lru_cache(maxsize=2048)
def message_xml(row: Row) -> bytes:
    return etree.tostring(message_element(row), encoding="UTF-8", xml_declaration=False)


def message_element(row: Row) -> etree._Element:
    """The ``<SMSMessage>`` element of a row (a copy of the cached template when it fits)."""
    keys, values = zip(*row, strict=True) if row else ((), ())
    if keys != MESSAGE_ELEMENTS:
        element = etree.Element(MESSAGE)
        _xml_fields(element, row)
        return element
    element = _MESSAGE_TEMPLATE.__copy__()  # copy.copy's dispatch, skipped
    for child, value in zip(element, values):
        child.text = xml_safe(value) or None
    return element


def _xml_document(body: bytes) -> Rendered:
    """A serialised element as the body of a <TwilioResponse> document."""
    return b"".join([XML_DECLARATION, ROOT_START, body, ROOT_END]), CONTENT_TYPES["xml"]


def _xml(root: etree._Element) -> Rendered:
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False), (
        CONTENT_TYPES["xml"]
    )


def _json(doc: object) -> Rendered:
    # A lone surrogate cannot be UTF-8; written as its JSON escape it still reads back exactly.
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "backslashreplace"), (
        CONTENT_TYPES["json"]
    )


def _csv(rows: Sequence[Row], header: Sequence[str] | None = None) -> Rendered:
    out = io.StringIO()
    writer = csv.writer(out)
    names = header if header is not None else [k for k, _ in rows[0]] if rows else []
    writer.writerow(names)
    for row in rows:
        writer.writerow([v for _, v in row])
    return out.getvalue().encode("utf-8", "replace"), CONTENT_TYPES["csv"]


def _html(
    rows: Sequence[Row],
    *,
    caption: str,
    attrs: Row = (),
    header: Sequence[str] | None = None,
) -> Rendered:
    html = etree.Element("html")
    head = etree.SubElement(html, "head")
    etree.SubElement(head, "meta", charset="utf-8")
    etree.SubElement(head, "title").text = caption
    body = etree.SubElement(html, "body")
    if attrs:
        _html_table(body, f"{caption} paging", [k for k, _ in attrs], [attrs])
    names = header if header is not None else [k for k, _ in rows[0]] if rows else []
    _html_table(body, caption, names, rows)
    return etree.tostring(html, method="html", encoding="UTF-8", doctype="<!DOCTYPE html>"), (
        CONTENT_TYPES["html"]
    )


def _html_table(
    parent: etree._Element, caption: str, names: Sequence[str], rows: Sequence[Row]
) -> None:
    table = etree.SubElement(parent, "table", {"class": caption.split()[-1]})
    etree.SubElement(table, "caption").text = caption
    head = etree.SubElement(table, "tr")
    for name in names:
        etree.SubElement(head, "th").text = name
    for row in rows:
        tr = etree.SubElement(table, "tr")
        for _, value in row:
            etree.SubElement(tr, "td").text = xml_safe(value)
