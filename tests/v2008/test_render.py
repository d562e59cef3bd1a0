"""2008 rendering, pure: golden examples from the docs, every format, property tests."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree, html

from gateway.dialects.v2008.render import (
    LIST_ATTRIBUTES,
    MESSAGE_ELEMENTS,
    RenderOptions,
    error_row,
    message_row,
    page_attributes,
    render_error,
    render_list,
    render_message,
    xml_safe,
)
from gateway.mapping.dates import parse_rfc2822
from gateway.model import ApiError, Message, Page
from tests.v2008 import golden
from tests.v2008.xmlutil import fields, messages, parse

PACIFIC = RenderOptions(legacy_timezone="America/Los_Angeles")


def _msg(sid: str, to: str, from_: str, body: str, direction: str, created: str, updated: str,
         status: str = "delivered") -> Message:
    return Message(
        sid=sid, account_sid="AC5ea872f6da5a21de157d80997a64bd33", to=to, from_=from_,
        body=body, status=status, direction=direction,
        date_created=parse_rfc2822(created), date_updated=parse_rfc2822(updated),
        date_sent=parse_rfc2822(updated),
    )


JENNY = _msg(
    "SM872fb94e3b358913777cdb313f25b46f", "+14158675309", "+16505551212",
    "Hi there Jenny! Why didn't you call me back?", "outbound-reply",
    "Sun, 04 Oct 2009 10:48:08 +0000", "Sun, 04 Oct 2009 10:48:10 +0000",
)
JUDGE = _msg(
    "SM47dfd824add482e1fee25ee3ce216113", "+16505551212", "+14158675309",
    "The judge said you can't text me anymore.", "inbound",
    "Sun, 04 Oct 2009 10:48:07 +0000", "Sun, 04 Oct 2009 10:48:07 +0000", status="received",
)


def test_golden_seed_003_instance() -> None:
    body, content_type = render_message("xml", message_row(JENNY, PACIFIC))
    assert content_type.startswith("application/xml")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    expected = parse(golden.FETCH_RESPONSE)
    got = parse(body)
    assert got.tag == expected.tag == "TwilioResponse"
    assert fields(got[0]) == fields(expected[0])
    assert [tag for tag, _ in fields(got[0])] == list(MESSAGE_ELEMENTS)


def test_golden_seed_000_send_response() -> None:
    sent = _msg(
        "SM872fb94e3b358913777cdb313f25b46f", "+15558675309", "+14155551212",
        "Hi Jenny! Want to grab dinner?", "outbound-reply",
        "Sun, 04 Oct 2009 10:48:08 +0000", "Sun, 04 Oct 2009 10:48:10 +0000", status="sent",
    )
    got = parse(render_message("xml", message_row(sent, PACIFIC))[0])
    assert fields(got[0]) == fields(parse(golden.SEND_RESPONSE)[0])


def test_golden_seed_003_list() -> None:
    first = dataclasses.replace(JENNY, body="Hi there Jenny! Want to grab dinner?")
    filler = [JENNY] * 48
    page = Page(messages=(first, JUDGE, *filler), page=0, page_size=50, total=69, num_pages=2,
                has_next=True)
    path = f"/2008-08-01/Accounts/{golden.ACCOUNT}/SMS/Messages"
    attrs = page_attributes(page, path, [])
    got = parse(render_list("xml", attrs, [message_row(m, PACIFIC) for m in page.messages])[0])
    expected = parse(golden.LIST_RESPONSE)
    listing, expected_listing = got[0], expected[0]
    assert listing.tag == "SMSMessages"
    for name, value in expected_listing.attrib.items():
        assert listing.get(name) == value
    assert list(listing.attrib) == list(LIST_ATTRIBUTES)
    assert listing.get("uri") == path + "?Page=0&num=50"
    assert listing.get("firstpageuri") == path + "?Page=0&num=50"
    assert listing.get("previouspageuri") == ""
    assert listing.get("nextpageuri") == path + "?Page=1&num=50"
    assert listing.get("lastpageuri") == path + "?Page=1&num=50"
    assert messages(got)[:2] == messages(expected)


def test_list_links_keep_filters_and_suffix() -> None:
    page = Page(messages=(JENNY,), page=2, page_size=1, total=5, num_pages=5, has_next=True)
    path = f"/2008-08-01/Accounts/{golden.ACCOUNT}/SMS/Messages.json"
    attrs = dict(page_attributes(page, path, [("To", "+14158675309"), ("DateSent>", "2009-07-06")]))
    assert attrs["uri"] == path + "?To=%2B14158675309&DateSent%3E=2009-07-06&Page=2&num=1"
    assert attrs["previouspageuri"].endswith("&Page=1&num=1")
    assert attrs["nextpageuri"].endswith("&Page=3&num=1")
    assert attrs["lastpageuri"].endswith("&Page=4&num=1")
    assert (attrs["start"], attrs["end"]) == ("2", "2")


def test_unknown_total_omits_total_numpages_and_last() -> None:
    page = Page(messages=(JENNY,), page=0, page_size=50, total=None, num_pages=None)
    attrs = dict(page_attributes(page, "/x", []))
    assert "total" not in attrs and "numpages" not in attrs and "lastpageuri" not in attrs
    assert attrs["nextpageuri"] == ""  # known: there is no next page


def test_empty_page() -> None:
    page = Page(messages=(), page=0, page_size=50, total=0, num_pages=1)
    got = parse(render_list("xml", page_attributes(page, "/x", []), [])[0])
    assert got[0].get("total") == "0" and got[0].get("end") == "0" and len(got[0]) == 0
    assert got[0].get("lastpageuri") == "/x?Page=0&num=50"


def test_empty_dates_are_empty_elements() -> None:
    msg = Message(sid="SM1", account_sid="AC1", to="+1", from_="+1", body="", status="queued",
                  direction="outbound-api")
    body = render_message("xml", message_row(msg, RenderOptions()))[0]
    assert b"<DateCreated/><DateUpdated/><DateSent/>" in body
    assert dict(fields(parse(body)[0]))["DateSent"] == ""


def test_number_format_setting_reaches_the_row() -> None:
    row = dict(message_row(JENNY, RenderOptions(number_format="e164")))
    assert (row["To"], row["From"]) == ("+14158675309", "+16505551212")
    opts = RenderOptions(number_format="as-sent")
    row = dict(message_row(JENNY, opts, to_as_sent="(415) 867-5309"))
    assert (row["To"], row["From"]) == ("(415) 867-5309", "6505551212")


def test_outbound_call_flags_setting_reaches_the_row() -> None:
    msg = Message(sid="SM1", account_sid="AC1", to="+1", from_="+1", body="x", status="sent",
                  direction="outbound-call")
    assert dict(message_row(msg, RenderOptions()))["Flags"] == "0"
    assert dict(message_row(msg, RenderOptions(outbound_call_flags=4)))["Flags"] == "4"


# --- other formats ----------------------------------------------------------------------------


def test_json_is_the_wrapped_shape_with_string_values() -> None:
    body, content_type = render_message("json", message_row(JENNY, PACIFIC))
    assert content_type.startswith("application/json")
    doc = json.loads(body)
    inner = doc["TwilioResponse"]["SMSMessage"]
    assert list(inner) == list(MESSAGE_ELEMENTS)
    assert all(isinstance(v, str) for v in inner.values())
    assert inner["To"] == "4158675309" and inner["Flags"] == "2"


def test_json_list_shape() -> None:
    page = Page(messages=(JENNY,), page=0, page_size=50, total=1, num_pages=1)
    attrs = page_attributes(page, "/x.json", [])
    body = render_list("json", attrs, [message_row(JENNY, PACIFIC)])[0]
    listing = json.loads(body)["TwilioResponse"]["SMSMessages"]
    assert list(listing) == [*LIST_ATTRIBUTES, "SMSMessage"]
    assert listing["total"] == "1"
    assert isinstance(listing["SMSMessage"], list) and listing["SMSMessage"][0]["Sid"] == JENNY.sid


def test_csv_has_a_header_row() -> None:
    body, content_type = render_message("csv", message_row(JENNY, PACIFIC))
    assert content_type.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == list(MESSAGE_ELEMENTS)
    assert rows[1][0] == JENNY.sid and rows[1][7] == JENNY.body
    page = Page(messages=(), page=0, page_size=50, total=0, num_pages=1)
    empty = render_list("csv", page_attributes(page, "/x", []), [])[0]
    assert list(csv.reader(io.StringIO(empty.decode()))) == [list(MESSAGE_ELEMENTS)]


def test_html_table_escapes_everything() -> None:
    evil = Message(sid="SM1", account_sid="AC1", to="+1", from_="+1",
                   body="<script>alert('x')</script> & \x07", status="sent", direction="inbound")
    body, content_type = render_message("html", message_row(evil, RenderOptions()))
    assert content_type.startswith("text/html")
    assert b"<script>" not in body
    doc = html.fromstring(body)
    assert [th.text for th in doc.iter("th")] == list(MESSAGE_ELEMENTS)
    cells = [td.text or "" for td in doc.iter("td")]
    assert cells[7] == "<script>alert('x')</script> & \ufffd"


@pytest.mark.parametrize("fmt", ["xml", "json", "csv", "html"])
def test_error_in_every_format(fmt: str) -> None:
    err = ApiError(400, "The 'To' number x is not a valid phone number.", 21211,
                   "http://www.twilio.com/docs/errors/21211")
    body, _ = render_error(fmt, err)
    expected = [("Status", "400"), ("Message", err.message), ("Code", "21211"),
                ("MoreInfo", "http://www.twilio.com/docs/errors/21211")]
    if fmt == "xml":
        root = parse(body)
        assert root.tag == "TwilioResponse" and root[0].tag == "RestException"
        assert fields(root[0]) == expected
    elif fmt == "json":
        assert list(json.loads(body)["TwilioResponse"]["RestException"].items()) == expected
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode())))
        assert rows == [[k for k, _ in expected], [v for _, v in expected]]
    else:
        doc = html.fromstring(body)
        assert [td.text for td in doc.iter("td")] == [v for _, v in expected]


def test_plain_404_has_status_and_message_only() -> None:
    assert error_row(ApiError(404, "The requested resource was not found")) == (
        ("Status", "404"), ("Message", "The requested resource was not found"),
    )


# --- properties -------------------------------------------------------------------------------

STATUSES = st.one_of(
    st.sampled_from(["queued", "sending", "sent", "failed", "delivered", "undelivered",
                     "receiving", "received", "accepted", "scheduled", "read",
                     "partially_delivered", "canceled"]),
    st.text(max_size=20),
)
DIRECTIONS = st.one_of(
    st.sampled_from(["inbound", "outbound-api", "outbound-call", "outbound-reply"]),
    st.text(max_size=20),
)
DATES = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                 timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))])),
)
MESSAGES = st.builds(
    Message,
    sid=st.text(max_size=40), account_sid=st.text(max_size=40),
    to=st.text(max_size=20), from_=st.text(max_size=20),
    body=st.text(max_size=300),
    status=STATUSES, direction=DIRECTIONS,
    date_created=DATES, date_updated=DATES, date_sent=DATES,
)
OPTIONS = st.builds(
    RenderOptions,
    number_format=st.sampled_from(["national", "e164", "as-sent"]),
    outbound_call_flags=st.integers(0, 7),
    legacy_timezone=st.sampled_from(["", "America/Los_Angeles", "Europe/London"]),
)


@settings(max_examples=150, deadline=None)
@given(MESSAGES, OPTIONS)
def test_any_message_renders_to_valid_2008_xml(msg: Message, opts: RenderOptions) -> None:
    body = render_message("xml", message_row(msg, opts))[0]
    root = etree.fromstring(body)  # well-formed, whatever the body held
    assert root.tag == "TwilioResponse" and [c.tag for c in root] == ["SMSMessage"]
    got = dict(fields(root[0]))
    assert [c.tag for c in root[0]] == list(MESSAGE_ELEMENTS)
    assert got["Body"] == xml_safe(msg.body)  # exact, bar XML 1.0's forbidden characters
    assert got["Status"] in {"queued", "sending", "sent", "failed"}
    assert got["Flags"] in {"0", "1", "2", "4", str(opts.outbound_call_flags)}
    for name, value in (("DateCreated", msg.date_created), ("DateSent", msg.date_sent)):
        assert (got[name] == "") == (value is None)
        if value is not None:
            assert parse_rfc2822(got[name]) == value.replace(microsecond=0)


@settings(max_examples=100, deadline=None)
@given(MESSAGES)
def test_any_message_round_trips_the_body_in_json(msg: Message) -> None:
    body = render_message("json", message_row(msg, RenderOptions()))[0]
    assert json.loads(body)["TwilioResponse"]["SMSMessage"]["Body"] == msg.body


@settings(max_examples=50, deadline=None)
@given(st.lists(MESSAGES, max_size=5), st.integers(0, 3), st.integers(1, 1000))
def test_any_page_renders_to_valid_xml(msgs: list[Message], number: int, size: int) -> None:
    page = Page(messages=tuple(msgs), page=number, page_size=size)
    body = render_list("xml", page_attributes(page, "/x", [("To", "+1<&>")]),
                       [message_row(m, RenderOptions()) for m in msgs])[0]
    listing = etree.fromstring(body)[0]
    assert listing.get("page") == str(number) and len(listing) == len(msgs)
    for element, msg in zip(listing, msgs, strict=True):
        assert [c.tag for c in element] == list(MESSAGE_ELEMENTS)
        assert (element.find("Body").text or "") == xml_safe(msg.body)


def test_xml_forbidden_characters_are_replaced_and_the_rest_kept() -> None:
    body = "a\x00b\x08c\td\ne\rf\ufffeg\ud800h <&> \U0001f600"
    assert xml_safe(body) == "a\ufffdb\ufffdc\td\ne\rf\ufffdg\ufffdh <&> \U0001f600"
    msg = Message(sid="SM1", account_sid="AC1", to="+1", from_="+1", body=body,
                  status="sent", direction="inbound")
    root = etree.fromstring(render_message("xml", message_row(msg, RenderOptions()))[0])
    assert root[0].find("Body").text == xml_safe(body)
