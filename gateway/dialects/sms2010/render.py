"""Canonical messages, pages and errors -> 2010-04-01 /SMS/Messages bytes (JSON, XML, CSV). Pure.

A message is first reduced to one record keyed by the resource's JSON names, in the recorded
JSON order; XML and CSV take the same values in seed 001's element order. Values the resource
had no value for are ``None``: ``null`` in JSON, an empty element (``<Price/>``) in XML, an empty
cell in CSV. The JSON is written the way that resource wrote it (the recorded answers in
tests/sandbox/fixtures): no spaces, ``\\/`` for ``/``, non-ASCII as ``\\uXXXX``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from lxml import etree

from gateway.dialects.v2008.render import CONTENT_TYPES, XML_DECLARATION, xml_safe
from gateway.mapping.dates import format_legacy
from gateway.mapping.status import status_2010_sms
from gateway.model import ApiError, Message, Page

Value = str | int | None
Record = Mapping[str, Value]
Rendered = tuple[bytes, str]  # (body, Content-Type)

# The recorded JSON order (the list recording; the instance recording swaps price and
# api_version, the issue and FACTS fix this one).
JSON_FIELDS: Final = (
    "sid", "date_created", "date_updated", "date_sent", "account_sid", "to", "from", "body",
    "status", "direction", "price", "api_version", "uri",
)
# Seed 001's element order: ApiVersion before Price.
XML_ELEMENTS: Final = (
    "Sid", "DateCreated", "DateUpdated", "DateSent", "AccountSid", "To", "From", "Body",
    "Status", "Direction", "ApiVersion", "Price", "Uri",
)
_XML_OF: Final = {
    "sid": "Sid", "date_created": "DateCreated", "date_updated": "DateUpdated",
    "date_sent": "DateSent", "account_sid": "AccountSid", "to": "To", "from": "From",
    "body": "Body", "status": "Status", "direction": "Direction", "price": "Price",
    "api_version": "ApiVersion", "uri": "Uri",
}
_JSON_OF: Final = {xml: key for key, xml in _XML_OF.items()}

LIST_FIELDS: Final = (
    "page", "num_pages", "page_size", "total", "start", "end", "uri", "first_page_uri",
    "previous_page_uri", "next_page_uri", "last_page_uri",
)
LIST_KEY: Final = "sms_messages"
ROOT: Final = "TwilioResponse"
MESSAGE: Final = "SMSMessage"
LIST: Final = "SMSMessages"
ERROR: Final = "RestException"
# XML and CSV error fields, alphabetical as Twilio's 2010 XML wrote RestException.
ERROR_ELEMENTS: Final = ("Code", "Message", "MoreInfo", "Status")
NOT_FOUND_CODE: Final = 20404


def uri_suffix(fmt: str) -> str:
    """A message's ``uri`` in each format: ``.json`` in JSON (the recorded answers), none in XML
    (seed 001), ``.csv`` in CSV (it names the representation it appears in, like JSON's)."""
    return "" if fmt == "xml" else f".{fmt}"


# --- records -------------------------------------------------------------------------------


def message_record(msg: Message, instance_uri: str, legacy_timezone: str = "") -> Record:
    """A canonical message as the resource's fields, JSON order. Numbers stay E.164 (the 2010
    resource showed them so); dates are RFC 2822, in the legacy time zone when configured."""

    def day(value: datetime | None) -> str | None:
        return format_legacy(value, legacy_timezone) or None

    return {
        "sid": msg.sid,
        "date_created": day(msg.date_created),
        "date_updated": day(msg.date_updated),
        "date_sent": day(msg.date_sent),
        "account_sid": msg.account_sid,
        "to": msg.to,
        "from": msg.from_,
        "body": msg.body,
        "status": status_2010_sms(msg.status),
        "direction": msg.direction,
        "price": msg.price,
        "api_version": msg.api_version or "2010-04-01",
        "uri": instance_uri,
    }


def page_record(
    page: Page,
    list_path: str,
    filters: Sequence[tuple[str, str]],
    explicit: Sequence[tuple[str, str]] = (),
) -> dict[str, Value]:
    """The list envelope for one page, without the messages. Links point back at the
    gateway's list (``list_path``, suffix included) with the filters first, then
    ``Page=N&PageSize=S`` as the recorded answers show; ``uri`` is the page as asked for.
    Unknown values (total, num_pages and last_page_uri when no total was computed) are None,
    as are links known not to exist (previous of page 0, next of the last page)."""

    def link(number: int) -> str:
        paging = [("Page", str(number)), ("PageSize", str(page.page_size))]
        return list_path + "?" + urlencode([*filters, *paging])

    asked = [*filters, *explicit]
    has_next = page.has_next or (page.num_pages is not None and page.page + 1 < page.num_pages)
    return {
        "page": page.page,
        "num_pages": page.num_pages,
        "page_size": page.page_size,
        "total": page.total,
        "start": page.start,
        "end": page.end,
        "uri": list_path + ("?" + urlencode(asked) if asked else ""),
        "first_page_uri": link(0),
        "previous_page_uri": link(page.page - 1) if page.page > 0 else None,
        "next_page_uri": link(page.page + 1) if has_next else None,
        "last_page_uri": link(max(page.num_pages - 1, 0)) if page.num_pages is not None else None,
    }


def error_record(err: ApiError) -> dict[str, Value]:
    """status, message, code, more_info (the 2010 JSON order). A 404 without a code gets
    20404: unlike 2008, the 2010 API gave its 404s that code."""
    code = err.code
    more_info = err.more_info
    if code is None and err.status == 404:
        code = NOT_FOUND_CODE
        more_info = ApiError(404, "", code).more_info
    return {"status": err.status, "message": err.message, "code": code, "more_info": more_info}


# --- formats -------------------------------------------------------------------------------


def render_message(fmt: str, record: Record) -> Rendered:
    if fmt == "json":
        return _json(record)
    if fmt == "csv":
        return _csv(XML_ELEMENTS, [_xml_order(record)])
    root = etree.Element(ROOT)
    _elements(etree.SubElement(root, MESSAGE), _xml_order(record))
    return _xml(root)


def render_list(fmt: str, envelope: Mapping[str, Value], records: Sequence[Record]) -> Rendered:
    """JSON: the envelope then ``sms_messages`` (always an array). XML: ``<SMSMessages>`` with
    the envelope as attributes named without underscores (``numpages``, ``firstpageuri``, as
    Twilio's XML named list attributes), unknown ones left out, non-existent links empty.
    CSV: the header and one line per message (a CSV has no place for the envelope)."""
    if fmt == "json":
        return _json({**envelope, LIST_KEY: list(records)})
    rows = [_xml_order(r) for r in records]
    if fmt == "csv":
        return _csv(XML_ELEMENTS, rows)
    root = etree.Element(ROOT)
    listing = etree.SubElement(root, LIST)
    for key, value in envelope.items():
        if value is None and key in ("num_pages", "total", "last_page_uri"):
            continue
        listing.set(key.replace("_", ""), xml_safe(_text(value)))
    for row in rows:
        _elements(etree.SubElement(listing, MESSAGE), row)
    return _xml(root)


def render_error(fmt: str, err: ApiError) -> Rendered:
    """The 2010 error shapes: JSON ``{"status","message","code","more_info"}``; XML
    ``<TwilioResponse><RestException>`` with Code, Message, MoreInfo, Status; CSV the same
    four columns. Any other format (a request for ``.html``) is answered in XML, the default."""
    record = error_record(err)
    if fmt == "json":
        return _json(record)
    row = [(name, record[_ERROR_KEYS[name]]) for name in ERROR_ELEMENTS]
    if fmt == "csv":
        return _csv(ERROR_ELEMENTS, [row])
    root = etree.Element(ROOT)
    _elements(etree.SubElement(root, ERROR), row)
    return _xml(root)


_ERROR_KEYS: Final = {"Code": "code", "Message": "message", "MoreInfo": "more_info",
                      "Status": "status"}


def _xml_order(record: Record) -> list[tuple[str, Value]]:
    return [(name, record[_JSON_OF[name]]) for name in XML_ELEMENTS]


def _text(value: Value) -> str:
    return "" if value is None else str(value)


def _elements(parent: etree._Element, row: Sequence[tuple[str, Value]]) -> None:
    for name, value in row:
        # Empty values as self-closing elements (<DateSent/>, <Price/>), as seed 001 shows.
        etree.SubElement(parent, name).text = xml_safe(_text(value)) or None


def _xml(root: etree._Element) -> Rendered:
    body = XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return body, CONTENT_TYPES["xml"]


def _json(doc: object) -> Rendered:
    # "/" occurs only inside JSON strings, so escaping every one is safe; ensure_ascii also
    # turns a lone surrogate into an escape, so the bytes are always valid.
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")
    return text.encode("ascii"), CONTENT_TYPES["json"]


def _csv(header: Sequence[str], rows: Sequence[Sequence[tuple[str, Value]]]) -> Rendered:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_text(v) for _, v in row])
    return out.getvalue().encode("utf-8", "replace"), CONTENT_TYPES["csv"]
