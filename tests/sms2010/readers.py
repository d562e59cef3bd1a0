"""Reading both legacy dialects' answers in tests, whatever the format, into one shape: a
message as {XML element name: text}, a list as (its paging attributes, its messages), an error
as {Code, Message, Status}. Each reader also checks the format's own structure on the way."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from lxml import etree

from gateway.dialects.sms2010.render import XML_ELEMENTS as ELEMENTS_2010
from gateway.dialects.v2008.render import MESSAGE_ELEMENTS as ELEMENTS_2008

Fields = dict[str, str]
ELEMENTS = {"v2008": ELEMENTS_2008, "sms2010": ELEMENTS_2010}
# 2010 JSON keys -> XML element names.
JSON_TO_XML = {
    "sid": "Sid", "date_created": "DateCreated", "date_updated": "DateUpdated",
    "date_sent": "DateSent", "account_sid": "AccountSid", "to": "To", "from": "From",
    "body": "Body", "status": "Status", "direction": "Direction", "price": "Price",
    "api_version": "ApiVersion", "uri": "Uri",
}
ERROR_JSON = {"code": "Code", "message": "Message", "status": "Status", "more_info": "MoreInfo"}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _xml(raw: bytes) -> etree._Element:
    root = etree.fromstring(raw)
    assert root.tag == "TwilioResponse"
    return root


def _xml_fields(element: etree._Element) -> Fields:
    return {child.tag: child.text or "" for child in element}


def _csv(raw: bytes) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    return header, rows


def message(dialect: str, fmt: str, raw: bytes) -> Fields:
    """One message; asserts its fields come in the dialect's order."""
    if fmt == "csv":
        header, rows = _csv(raw)
        assert header == list(ELEMENTS[dialect]) and len(rows) == 1
        return dict(zip(header, rows[0], strict=True))
    if fmt == "json":
        doc = json.loads(raw)
        if dialect == "v2008":
            fields = doc["TwilioResponse"]["SMSMessage"]
            assert list(fields) == list(ELEMENTS_2008)
            return dict(fields)
        assert [JSON_TO_XML[k] for k in doc] == sorted(ELEMENTS_2010, key=_json_rank)
        return {JSON_TO_XML[k]: _text(v) for k, v in doc.items()}
    (element,) = _xml(raw)
    assert element.tag == "SMSMessage"
    assert [c.tag for c in element] == list(ELEMENTS[dialect])
    return _xml_fields(element)


def listing(dialect: str, fmt: str, raw: bytes) -> tuple[Fields, list[Fields]]:
    """A page: (attributes with 2008/XML names, or {} for CSV; messages)."""
    if fmt == "csv":
        header, rows = _csv(raw)
        assert header == list(ELEMENTS[dialect])
        return {}, [dict(zip(header, r, strict=True)) for r in rows]
    if fmt == "json":
        doc = json.loads(raw)
        if dialect == "v2008":
            page = dict(doc["TwilioResponse"]["SMSMessages"])
            items = page.pop("SMSMessage")
            return page, [dict(m) for m in items]
        items = doc.pop("sms_messages")
        attrs = {k.replace("_", ""): _text(v) for k, v in doc.items() if v is not None}
        return attrs, [{JSON_TO_XML[k]: _text(v) for k, v in m.items()} for m in items]
    (element,) = _xml(raw)
    assert element.tag == "SMSMessages"
    return dict(element.attrib), [_xml_fields(m) for m in element]


def error(dialect: str, fmt: str, raw: bytes) -> Fields:
    if fmt == "csv":
        header, rows = _csv(raw)
        return dict(zip(header, rows[0], strict=True))
    if fmt == "json":
        doc = json.loads(raw)
        if dialect == "v2008":
            return dict(doc["TwilioResponse"]["RestException"])
        assert list(doc) == ["status", "message", "code", "more_info"]
        return {ERROR_JSON[k]: _text(v) for k, v in doc.items()}
    (element,) = _xml(raw)
    assert element.tag == "RestException"
    return _xml_fields(element)


def _json_rank(name: str) -> int:
    return list(JSON_TO_XML.values()).index(name)
