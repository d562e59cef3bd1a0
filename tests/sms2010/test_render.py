"""Pure rendering and upstream-envelope rules of the 2010 dialect, with no I/O."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway import errors
from gateway.dialects.sms2010 import parse, render
from gateway.model import ApiError, ListQuery, Message, Page
from gateway.upstream.sms2010 import page_from_json

ACCOUNT = "AC" + "a" * 32
LIST = f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages"


MESSAGE = Message(
    sid="SM" + "b" * 32, account_sid=ACCOUNT, to="+14159352345", from_="+14158141829",
    body="hi", status="delivered", direction="outbound-api",
    date_created=datetime(2010, 8, 18, 20, 1, 40, tzinfo=UTC),
)


def _msg(**changes: Any) -> Message:
    return dataclasses.replace(MESSAGE, **changes)


@pytest.mark.parametrize(
    ("current", "legacy"),
    [("accepted", "queued"), ("queued", "queued"), ("sending", "sending"), ("sent", "sent"),
     ("delivered", "sent"), ("undelivered", "failed"), ("failed", "failed"),
     ("received", "received"), ("receiving", "sending"), ("brand-new-status", "sending")],
)
def test_status_in_the_2010_vocabulary(current: str, legacy: str) -> None:
    assert render.message_record(_msg(status=current), "u")["status"] == legacy


def test_json_message_nulls_and_escapes() -> None:
    record = render.message_record(_msg(body="caf\u00e9 \U0001f600 </b>"), "/x/y.json")
    body, content_type = render.render_message("json", record)
    assert content_type.startswith("application/json")
    assert body.isascii()  # non-ASCII as \uXXXX, as the recorded answers were written
    assert b'"date_sent":null' in body and b'"price":null' in body
    assert b'"uri":"\\/x\\/y.json"' in body and b"<\\/b>" in body
    assert json.loads(body)["body"] == "caf\u00e9 \U0001f600 </b>"


def test_legacy_timezone_applies() -> None:
    record = render.message_record(_msg(), "u", "America/Los_Angeles")
    assert record["date_created"] == "Wed, 18 Aug 2010 13:01:40 -0700"


@given(st.text(max_size=40))
@settings(max_examples=50, deadline=None)
def test_any_body_gives_well_formed_answers(body: str) -> None:
    record = render.message_record(_msg(body=body), "u")
    for fmt in ("xml", "json", "csv"):
        raw, _ = render.render_message(fmt, record)
        if fmt == "xml":
            etree.fromstring(raw)
        elif fmt == "json":
            assert json.loads(raw)["body"] == body


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (ApiError(400, "The 'To' number x is not a valid phone number.", 21211),
         {"status": 400, "message": "The 'To' number x is not a valid phone number.",
          "code": 21211, "more_info": "https://www.twilio.com/docs/errors/21211"}),
        # The 2010 API gave its 404s a code; a codeless 404 gets 20404.
        (ApiError(404, "The requested resource was not found"),
         {"status": 404, "message": "The requested resource was not found", "code": 20404,
          "more_info": "https://www.twilio.com/docs/errors/20404"}),
        (ApiError(413, "too large"),
         {"status": 413, "message": "too large", "code": None, "more_info": None}),
    ],
)
def test_error_shapes(err: ApiError, expected: dict[str, object]) -> None:
    body, _ = render.render_error("json", err)
    assert list(json.loads(body).items()) == list(expected.items())
    xml, content_type = render.render_error("xml", err)
    assert content_type.startswith("application/xml")
    root = etree.fromstring(xml)
    (exc,) = root
    assert (root.tag, exc.tag) == ("TwilioResponse", "RestException")
    assert [(c.tag, c.text or "") for c in exc] == [
        ("Code", "" if expected["code"] is None else str(expected["code"])),
        ("Message", expected["message"]),
        ("MoreInfo", expected["more_info"] or ""),
        ("Status", str(expected["status"])),
    ]
    csv_body, _ = render.render_error("csv", err)
    assert csv_body.decode().splitlines()[0] == "Code,Message,MoreInfo,Status"
    # A format the 2010 resource never had is answered in its default, XML.
    assert render.render_error("html", err)[0] == xml


def _page(**changes: Any) -> Page:
    page = Page(messages=(MESSAGE,), page=1, page_size=1, total=3, num_pages=3, has_next=True)
    return dataclasses.replace(page, **changes)


def test_list_xml_attributes_order_and_links() -> None:
    envelope = render.page_record(_page(), LIST, [("To", "+14159352345")], [("Page", "1")])
    xml, _ = render.render_list("xml", envelope, [])
    listing = etree.fromstring(xml)[0]
    assert list(listing.attrib) == [
        "page", "numpages", "pagesize", "total", "start", "end", "uri", "firstpageuri",
        "previouspageuri", "nextpageuri", "lastpageuri"]
    assert listing.get("uri") == LIST + "?To=%2B14159352345&Page=1"
    assert listing.get("previouspageuri") == LIST + "?To=%2B14159352345&Page=0&PageSize=1"
    assert listing.get("lastpageuri") == LIST + "?To=%2B14159352345&Page=2&PageSize=1"


def test_unknown_totals_omitted_in_xml_null_in_json() -> None:
    envelope = render.page_record(_page(total=None, num_pages=None), LIST, [])
    xml, _ = render.render_list("xml", envelope, [])
    assert {"total", "numpages", "lastpageuri"}.isdisjoint(etree.fromstring(xml)[0].attrib)
    doc = json.loads(render.render_list("json", envelope, [])[0])
    assert (doc["total"], doc["num_pages"], doc["last_page_uri"]) == (None, None, None)
    assert doc["next_page_uri"] == LIST + "?Page=2&PageSize=1"
    assert list(doc) == [*render.LIST_FIELDS, "sms_messages"]


def test_split_name() -> None:
    assert parse.split_name("Messages.Xml") == ("Messages", "xml")
    assert parse.split_name("Messages.JSON") == ("Messages", "json")
    assert parse.split_name("Messages.csv") == ("Messages", "csv")
    assert parse.split_name("Messages") == ("Messages", None)
    assert parse.split_name("Messages.html") == ("Messages.html", None)  # 2008 only


def test_application_sid_and_paging_parsed() -> None:
    from gateway.config import Settings

    pairs = [("To", "+14159352345"), ("From", "+14158141829"), ("Body", "x"),
             ("ApplicationSid", "AP" + "c" * 32)]
    assert parse.parse_send(pairs, Settings()).application_sid == "AP" + "c" * 32
    query = parse.parse_list([("Page", "2"), ("PageSize", "5000")], Settings())
    assert (query.page, query.page_size) == (2, 1000)  # clamped, as 2008's num is
    with pytest.raises(ApiError) as exc:
        parse.parse_list([("PageSize", "0")], Settings())
    assert exc.value.code == 20001


# --- the sms2010 upstream's list envelope ------------------------------------------------------


def _upstream(total: object, n: int, next_uri: str | None = None) -> dict[str, object]:
    item = {"sid": "SM" + "d" * 32, "status": "sent", "direction": "outbound-api",
            "to": "+1", "from": "+2", "body": "b"}
    return {"page": 0, "total": total, "next_page_uri": next_uri, "sms_messages": [item] * n}


def test_page_from_upstream_totals() -> None:
    page = page_from_json(_upstream(5, 2, "/next"), ListQuery(page=0, page_size=2))
    assert (page.total, page.num_pages, page.has_next, page.upstream_requests) == (5, 3, True, 1)
    assert page.messages[0].status == "sent"  # already legacy; kept as it is


def test_empty_upstream_list_has_one_page() -> None:
    # The deprecated resource said num_pages 0; the gateway keeps page 0 valid, as it does over
    # the Messages API, so first and last page links agree in both modes.
    page = page_from_json(_upstream(0, 0), ListQuery())
    assert (page.total, page.num_pages, page.has_next) == (0, 1, False)


def test_upstream_total_never_below_what_the_page_shows() -> None:
    page = page_from_json(_upstream(1, 2, "/next"), ListQuery(page=1, page_size=2))
    assert page.total == 5 and page.num_pages == 3


@pytest.mark.parametrize("data", [{}, {"sms_messages": "no"}, [], None, {"messages": []}])
def test_upstream_list_without_sms_messages_is_502(data: object) -> None:
    with pytest.raises(ApiError) as exc:
        page_from_json(data, ListQuery())
    assert (exc.value.status, exc.value.code) == (502, errors.UPSTREAM_BAD_RESPONSE)


def test_upstream_without_total_leaves_it_unknown() -> None:
    page = page_from_json(_upstream("many", 1), ListQuery(page_size=1))
    assert (page.total, page.num_pages, page.has_next) == (None, None, False)
