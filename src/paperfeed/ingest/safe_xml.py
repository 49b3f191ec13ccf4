"""Parsing XML from outside (arXiv responses, saved files) without trusting it.

The parser never touches the network, never expands entities and keeps libxml2's size
limits, and documents carrying a DTD are refused: no response we read has one, so a DTD
can only be an attempt at entity tricks.
"""

from __future__ import annotations

from lxml import etree

from paperfeed.errors import InvalidInput


class MalformedXML(InvalidInput):
    """The bytes are not a well-formed XML document (for example, a truncated response)."""


def _parser() -> etree.XMLParser:
    # A fresh parser per document: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, what: str) -> etree._Element:
    """The root element of `data`; `what` names the document in error messages."""
    if not data.strip():
        raise MalformedXML(f"{what} is empty")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedXML(f"{what} is not well-formed XML (truncated or not XML at all): {exc}") from None
    if root is None:
        raise MalformedXML(f"{what} holds no XML element")
    if root.getroottree().docinfo.doctype:
        raise MalformedXML(f"{what} declares a DTD, which is not accepted")
    return root


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def child_text(element: etree._Element, path: str, namespaces: dict[str, str]) -> str | None:
    """Text of the first element at `path`, stripped; None when absent or empty."""
    found = element.find(path, namespaces)
    if found is None:
        return None
    text = "".join(found.itertext()).strip()
    return text or None
