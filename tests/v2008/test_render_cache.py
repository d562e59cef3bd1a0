"""The cache of serialised <SMSMessage> elements: a cached render is byte-for-byte a fresh one,
in a single message and in a list, and a row's fields in another order are not served the
template's."""

from __future__ import annotations

from lxml import etree

from gateway.dialects.v2008 import render
from gateway.model import Message, Page

MSG = Message(sid="SM" + "a" * 32, account_sid="AC" + "b" * 32, to="+14155551212",
              from_="+14155550000", body="Hi <there> & \x01 é", status="sent",
              direction="outbound-api")
OPTS = render.RenderOptions()


def test_cached_render_equals_a_fresh_one() -> None:
    row = render.message_row(MSG, OPTS)
    render.message_xml.cache_clear()
    fresh = render.render_message("xml", row)
    assert render.message_xml.cache_info().currsize == 1
    assert render.render_message("xml", row) == fresh
    assert b"&lt;there&gt; &amp; \xef\xbf\xbd \xc3\xa9" in fresh[0]


def test_a_cached_row_is_the_row_built_afresh() -> None:
    render.message_row.cache_clear()
    row = render.message_row(MSG, OPTS)
    assert render.message_row(MSG, OPTS) is row
    assert row == render.message_row.__wrapped__(MSG, OPTS)
    # A send's own answer shows the numbers as sent: another key, another row.
    as_sent = render.RenderOptions(number_format="as-sent")
    sent = render.message_row(MSG, as_sent, to_as_sent="(415) 555-1212")
    assert dict(sent)["To"] == "(415) 555-1212" and dict(row)["To"] == "4155551212"


def test_a_list_of_cached_fragments_is_the_tree_lxml_writes() -> None:
    rows = [render.message_row(MSG, OPTS), render.message_row(MSG, OPTS)]
    page = Page(messages=[MSG, MSG], page=0, page_size=2, total=2, num_pages=1,
                total_is_exact=True, has_next=False, upstream_requests=1)
    attrs = render.page_attributes(page, "/2008-08-01/Accounts/x/SMS/Messages", [("To", "<&>")])
    body, _ = render.render_list("xml", attrs, rows)
    root = etree.Element(render.ROOT)
    listing = etree.SubElement(root, render.LIST, dict(attrs))
    for row in rows:
        listing.append(render.message_element(row))
    assert body == render.XML_DECLARATION + etree.tostring(root, encoding="UTF-8")


def test_an_empty_list_is_self_closing() -> None:
    page = Page(messages=[], page=0, page_size=50, total=0, num_pages=1,
                total_is_exact=True, has_next=False, upstream_requests=1)
    attrs = render.page_attributes(page, "/x", [])
    body, _ = render.render_list("xml", attrs, [])
    assert etree.fromstring(body).find(render.LIST) is not None
    assert body.endswith(b"/></TwilioResponse>")


def test_rows_in_another_order_are_not_served_the_template() -> None:
    row = tuple(reversed(render.message_row(MSG, OPTS)))
    body, _ = render.render_message("xml", row)
    element = etree.fromstring(body)[0]
    assert [child.tag for child in element] == [k for k, _ in row]
