"""Reading 2008 XML in tests: element-by-element views that ignore indentation."""

from __future__ import annotations

from lxml import etree


def parse(xml: str | bytes) -> etree._Element:
    data = xml.encode() if isinstance(xml, str) else xml
    return etree.fromstring(data.strip(), etree.XMLParser(remove_blank_text=True))


def fields(element: etree._Element) -> list[tuple[str, str]]:
    """(tag, text) of each child, in order; empty text as ''."""
    return [(child.tag, child.text or "") for child in element]


def messages(root: etree._Element) -> list[list[tuple[str, str]]]:
    return [fields(m) for m in root.iter("SMSMessage")]
