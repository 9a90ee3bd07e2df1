"""Read one XML record, hardened against hostile input (see ``_xml_safe``); HL7 C-CDA documents
get a clinical reader (``_ccda``), anything else a generic flattening with XPath pointers."""

from __future__ import annotations

import os

from lxml import etree

from ._ccda import _CLINICAL_DOCUMENT, _ccda_record
from ._record import Record, Section, Value
from ._xml_safe import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_ELEMENTS,
    _elements,
    _local,
    _own_text,
    _parse_document,
    _Paths,
    _read_document,
    _squeeze,
)

__all__ = ["parse_xml"]


def _is_mixed(element: etree._Element) -> bool:
    return any(child.tail and child.tail.strip() for child in _elements(element))


def _flatten(
    element: etree._Element, key: str, paths: _Paths, out: list[Value], *, text_done: bool = False
) -> None:
    """Attributes and text of ``element`` and its descendants; keys are local names joined by /.

    Mixed content (text between child elements) is kept as the element's whole text, so no
    words are lost between the children.
    """
    for name, value in element.attrib.items():
        attr = _local(str(name))
        out.append(
            Value(
                f"{key}/@{attr}" if key else f"@{attr}", str(value), paths.attr(element, str(name))
            )
        )
    own_key = key or _local(element.tag)
    children = _elements(element)
    if not text_done:
        if children and _is_mixed(element):
            out.append(Value(own_key, _squeeze(_own_text(element)), paths.of(element)))
            text_done = True
        elif element.text and element.text.strip():
            out.append(Value(own_key, element.text.strip(), paths.of(element)))
    for child in children:
        child_key = f"{key}/{_local(child.tag)}" if key else _local(child.tag)
        _flatten(child, child_key, paths, out, text_done=text_done)


def _generic_record(root: etree._Element, paths: _Paths, record_id: str) -> Record:
    record = Record(record_id=record_id, kind="xml")
    top: list[Value] = []
    if not _elements(root) or _is_mixed(root):
        _flatten(root, "", paths, top)
    else:
        _flatten_own(root, paths, top)
        for child in _elements(root):
            if _elements(child):
                values: list[Value] = []
                _flatten(child, "", paths, values)
                record.sections.append(Section(title=_local(child.tag), values=values))
            else:
                _flatten(child, _local(child.tag), paths, top)
    if top:
        record.sections.insert(0, Section(title=_local(root.tag), values=top))
    return record


def _flatten_own(root: etree._Element, paths: _Paths, out: list[Value]) -> None:
    """The root's attributes and text, without its children."""
    for name, value in root.attrib.items():
        out.append(Value(f"@{_local(str(name))}", str(value), paths.attr(root, str(name))))
    if root.text and root.text.strip():
        out.append(Value(_local(root.tag), root.text.strip(), paths.of(root)))


def parse_xml(
    source: str | bytes | os.PathLike[str],
    *,
    record_id: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_elements: int = MAX_ELEMENTS,
) -> Record:
    """Parse one XML record from a file path, XML text (starting with ``<``) or bytes.

    An HL7 C-CDA document (``ClinicalDocument`` in ``urn:hl7-org:v3``) becomes a record of kind
    ``ccda`` with the document header (without direct identifiers) and one section per body
    section; any other XML becomes kind ``xml`` with one section per child of the root.

    Raises:
        RecordParseError: malformed XML, empty input, no such file (message gives the position,
            never the content).
        UnsafeInputError: a DOCTYPE/ENTITY declaration, XInclude, more than ``max_bytes`` bytes,
            nesting deeper than ``max_depth`` (lxml itself stops at 256) or more than
            ``max_elements`` elements.
    """
    data, forced, rid = _read_document(
        source, record_id, max_bytes=max_bytes, max_depth=max_depth, max_elements=max_elements
    )
    root = _parse_document(
        data, forced, rid, max_depth=max_depth, max_elements=max_elements
    ).getroot()
    paths = _Paths()
    if root.tag == _CLINICAL_DOCUMENT:
        return _ccda_record(root, paths, rid)
    return _generic_record(root, paths, rid)
