"""The legacy app's SMS TwiML -> current TwiML (pure; no I/O).

``<Sms>`` becomes ``<Message>`` with ``to``, ``from``, ``action``, ``method`` and
``statusCallback`` carried over. URLs in the reply would otherwise make Twilio call the legacy
app directly in the current format, so ``action``, ``statusCallback`` and ``<Redirect>`` URLs
are handed to a wrapper that routes them back through the gateway; relative URLs are resolved
against the legacy URL first, as Twilio would have resolved them against it. A URL the wrapper
refuses is removed (the attribute, or the whole ``<Redirect>``): left in place, Twilio would
call it directly. ``<Message>`` URLs are treated as ``<Sms>`` ones; other verbs pass through
untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

from lxml import etree

from gateway.callbacks.tokens import ACTION, INBOUND, STATUS

# wrap(kind, absolute legacy URL, legacy method) -> the URL to give Twilio, or None to drop it
UrlWrapper = Callable[[str, str, str], str | None]

_SMS_ATTRIBUTES = ("to", "from", "action", "method", "statusCallback")
EMPTY_RESPONSE = b'<?xml version="1.0" encoding="UTF-8"?>\n<Response/>\n'


class TwimlError(ValueError):
    """The legacy app's reply is not TwiML the gateway can translate."""


def _parser() -> etree.XMLParser:
    # No entity expansion, no DTD or network fetches, no huge documents: the reply is untrusted.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
        remove_pis=True, remove_comments=True,
    )


def _method(value: str | None) -> str:
    method = (value or "POST").strip().upper()
    return method if method in ("GET", "POST") else "POST"


def _rewrite_sms(el: etree._Element, base_url: str, wrap: UrlWrapper) -> None:
    kept = {name: el.get(name) for name in _SMS_ATTRIBUTES if el.get(name) is not None}
    el.attrib.clear()
    el.tag = "Message"
    legacy_method = _method(kept.pop("method", None))
    action = kept.pop("action", None)
    callback = kept.pop("statusCallback", None)
    for name in ("to", "from"):
        if name in kept:
            el.set(name, kept[name])
    if action:
        absolute = urljoin(base_url, action.strip())
        wrapped = wrap(ACTION, absolute, legacy_method)
        if wrapped:
            el.set("action", wrapped)
            # The gateway's relay takes POST; the legacy method travels inside the token.
            el.set("method", "POST" if wrapped != absolute else legacy_method)
    if callback:
        wrapped = wrap(STATUS, urljoin(base_url, callback.strip()), "POST")
        if wrapped:
            el.set("statusCallback", wrapped)


def _rewrite_redirect(el: etree._Element, base_url: str, wrap: UrlWrapper) -> None:
    target = (el.text or "").strip()
    if not target:
        return
    legacy_method = _method(el.get("method"))
    absolute = urljoin(base_url, target)
    wrapped = wrap(INBOUND, absolute, legacy_method)
    if wrapped:
        el.text = wrapped
        el.set("method", "POST" if wrapped != absolute else legacy_method)
    else:
        # Refused: left in place, Twilio would call it directly, past every check.
        _remove(el)


def _remove(el: etree._Element) -> None:
    """Remove ``el`` but keep its tail text (whitespace between verbs)."""
    parent = el.getparent()
    if parent is None:
        return
    previous = el.getprevious()
    if el.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def rewrite_reply(body: bytes, base_url: str, wrap: UrlWrapper) -> bytes:
    """Translate a legacy TwiML reply; an empty body is an empty ``<Response/>``.

    Raises TwimlError for anything that is not a well-formed ``<Response>`` document."""
    if not body.strip():
        return EMPTY_RESPONSE
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise TwimlError(f"not XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise TwimlError("TwiML with a DOCTYPE is refused")
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    for el in list(root.iter()):
        # A current <Message> (a legacy app may already answer in it) carries URLs too.
        if el.tag in ("Sms", "Message"):
            _rewrite_sms(el, base_url, wrap)
        elif el.tag == "Redirect":
            _rewrite_redirect(el, base_url, wrap)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"
