"""Reading an application's TwiML reply to an inbound SMS (pure): the ``<Message>`` verbs it
asks the sandbox to send."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


@dataclass(frozen=True, slots=True)
class ReplyMessage:
    body: str
    to: str | None = None
    from_: str | None = None
    status_callback: str | None = None


def parse_reply(text: str) -> list[ReplyMessage]:
    """The ``<Message>`` verbs of a ``<Response>`` document; [] for anything else (an empty or
    non-TwiML answer means "no reply", as with Twilio)."""
    text = text.strip()
    if not text:
        return []
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return []
    if root.tag != "Response":
        return []
    out: list[ReplyMessage] = []
    for verb in root.iterchildren("Message"):
        body_el = verb.find("Body")
        # <Message>text</Message> or <Message><Body>text</Body></Message>
        body = body_el.text if body_el is not None else verb.text
        out.append(
            ReplyMessage(
                body=(body or "").strip(),
                to=verb.get("to"),
                from_=verb.get("from"),
                status_callback=verb.get("statusCallback"),
            )
        )
    return out
