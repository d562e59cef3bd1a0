"""The cache of built <SMSMessage> elements: a cached render is byte-for-byte a fresh one, and a
caller's changes to what it got never reach the cache."""

from __future__ import annotations

from lxml import etree

from gateway.dialects.v2008 import render
from gateway.model import Message

MSG = Message(sid="SM" + "a" * 32, account_sid="AC" + "b" * 32, to="+14155551212",
              from_="+14155550000", body="Hi <there> & \x01", status="sent",
              direction="outbound-api")
OPTS = render.RenderOptions()


def test_cached_render_equals_a_fresh_one() -> None:
    row = render.message_row(MSG, OPTS)
    render._ELEMENTS.clear()
    fresh = render.render_message("xml", row)
    assert render._ELEMENTS.get(row) is not None
    assert render.render_message("xml", row) == fresh
    assert b"&lt;there&gt; &amp; \xef\xbf\xbd" in fresh[0]


def test_changes_to_a_returned_element_do_not_reach_the_cache() -> None:
    row = render.message_row(MSG, OPTS)
    first = render._message_element(row)
    first[0].text = "changed"
    parent = etree.Element("p")
    parent.append(first)  # moving it into another tree
    again = render._message_element(row)
    assert again[0].text == MSG.sid and again.getparent() is None


def test_rows_in_another_order_are_not_served_the_template() -> None:
    row = tuple(reversed(render.message_row(MSG, OPTS)))
    element = render._message_element(row)
    assert [child.tag for child in element] == [k for k, _ in row]
