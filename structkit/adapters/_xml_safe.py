"""Hardened XML parsing shared by every XML reader (generic XML, C-CDA, XBRL/iXBRL).

Safety (records may come from anyone):

- Documents with a DOCTYPE or an ENTITY declaration are refused before parsing (a cheap scan in
  every encoding the parser could read the bytes as) and again after parsing (``docinfo``). No
  DTD means no entity expansion (billion laughs, quadratic blowup), no external entities (XXE)
  and no DTD download.
- The parser is lxml's, with every safety option spelled out: ``resolve_entities=False``,
  ``no_network=True``, ``load_dtd=False``, ``huge_tree=False``; XInclude is never run, and an
  element in the XInclude namespace is refused.
- Size is checked before reading (file size, then a bounded read); depth and element count are
  checked while parsing, so a hostile document is refused before it is built in full.
- Error messages give a position (line, column) but never document content: records may hold
  patient data and messages end up in logs.

Pointers are XPaths in the syntax of lxml's ``getpath``; an element with a namespace prefix is
written ``*[n]`` so that ``tree.xpath(pointer)`` resolves without a namespace map. Attribute
values get ``/@name``. When a value's text is composed from several attributes (a code with its
name, a quantity with its unit) the pointer names the element that holds them.
"""

from __future__ import annotations

import codecs
import os
import re
from collections import Counter
from collections.abc import Iterator

from lxml import etree

from .._errors import ConfigurationError, InputError, RecordParseError, UnsafeInputError
from ._source import read_source

MAX_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 256
MAX_ELEMENTS = 200_000

_CHUNK = 64 * 1024
_XINCLUDE = ("{http://www.w3.org/2001/XInclude}", "{http://www.w3.org/2003/XInclude}")
# libxml2 reports its own limits (depth 256 and 10 MB text nodes without huge_tree, entity
# amplification) with this code.
_ERR_RESOURCE_LIMIT = 114
_DECLARATION = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _load(
    source: str | bytes | os.PathLike[str], record_id: str | None, max_bytes: int
) -> tuple[bytes, str | None, str]:
    """Return (bytes, encoding the parser must use or None to detect, record id)."""
    read = read_source(source, record_id=record_id, default_id="xml", max_bytes=max_bytes)
    if read.text is not None:
        # The text is already decoded: an encoding named in its XML declaration no longer holds.
        data = read.text.encode("utf-8", "surrogatepass")
        return data, "utf-8", read.record_id
    assert read.data is not None
    return read.data, None, read.record_id


def _check_size(size: int, max_bytes: int, record_id: str) -> None:
    if size > max_bytes:
        raise UnsafeInputError(
            f"input is {size} bytes, over the limit of {max_bytes}", record_id=record_id
        )


def _bom_encoding(data: bytes) -> str | None:
    """The encoding a parser would infer from the first bytes, when not ASCII-compatible."""
    head = data[:4]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    patterns = {
        b"\x00\x00\x00<": "utf-32-be",
        b"<\x00\x00\x00": "utf-32-le",
        b"\x00<": "utf-16-be",
        b"<\x00": "utf-16-le",
    }
    for prefix, name in patterns.items():
        if head.startswith(prefix):
            return name
    return None


def _scan_views(data: bytes, forced: str | None, record_id: str) -> Iterator[str]:
    """The text of ``data`` as each encoding the parser might read it with.

    A DOCTYPE hidden by an encoding (UTF-16, or UTF-7 where ``<`` is ``+ADw-``) is found
    because the scan decodes the bytes the way the parser would, not as ASCII only.
    """
    if forced is not None:
        yield data.decode(forced, errors="replace")
        return
    # Any ASCII-compatible encoding (UTF-8, Latin-1, ...) shows markup as ASCII.
    views = [data.removeprefix(codecs.BOM_UTF8).decode("latin-1")]
    detected = _bom_encoding(data)
    if detected is not None:
        views.append(data.decode(detected, errors="replace"))
    yield from views
    for view in views:
        match = _DECLARED_ENCODING.match(view[:1024])
        if match is None:
            continue
        try:
            codec = codecs.lookup(match.group(1))
        except LookupError:
            raise UnsafeInputError(
                "the declared encoding is unknown, so the document cannot be checked",
                record_id=record_id,
            ) from None
        if codec.name not in ("utf-8", "ascii", "iso8859-1"):  # those were just scanned
            yield data.decode(codec.name, errors="replace")


def _refuse_declarations(data: bytes, forced: str | None, record_id: str) -> None:
    # Conservative: a literal "<!DOCTYPE"/"<!ENTITY" inside a comment or CDATA is refused too.
    for text in _scan_views(data, forced, record_id):
        if _DECLARATION.search(text):
            raise UnsafeInputError(
                "document type (DOCTYPE) and ENTITY declarations are not allowed",
                record_id=record_id,
            )


def _hardened_parser(encoding: str | None) -> etree.XMLPullParser:
    """lxml's XMLParser (the pull flavour, to count while parsing), every safety option explicit.

    Defaults have changed between lxml versions (iterparse resolved entities until 6.1), so no
    safety-relevant default is relied on.
    """
    return etree.XMLPullParser(
        events=("start", "end"),
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


class _Limits:
    """Counts elements and depth from parser events and refuses what is over the limits."""

    def __init__(self, record_id: str, max_depth: int, max_elements: int) -> None:
        self.record_id = record_id
        self.max_depth = max_depth
        self.max_elements = max_elements
        self.depth = 0
        self.elements = 0

    def consume(self, parser: etree.XMLPullParser) -> None:
        for event, node in parser.read_events():
            if event == "end":
                self.depth -= 1
            elif isinstance(node, etree._Element):
                self.start(node)

    def start(self, element: etree._Element) -> None:
        self.depth += 1
        self.elements += 1
        problem = None
        if self.depth > self.max_depth:
            problem = f"elements nested deeper than {self.max_depth}"
        elif self.elements > self.max_elements:
            problem = f"more than {self.max_elements} elements"
        elif element.tag.startswith(_XINCLUDE):
            # Never expanded (xinclude() is not called), refused so no later step expands it.
            problem = "XInclude elements are not allowed"
        if problem is not None:
            line = element.sourceline
            where = f"line {line}" if isinstance(line, int) else None
            raise UnsafeInputError(problem, record_id=self.record_id, where=where)


def _parse(data: bytes, forced: str | None, limits: _Limits) -> etree._ElementTree:
    parser = _hardened_parser(forced)
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start : start + _CHUNK])
            limits.consume(parser)
        root = parser.close()
        limits.consume(parser)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, limits.record_id) from None
    tree = root.getroottree()
    _refuse_dtd(tree, limits.record_id)
    return tree


def _syntax_error(exc: etree.XMLSyntaxError, record_id: str) -> InputError:
    # lxml's message quotes tag names and text; only the position is passed on.
    line, column = exc.position
    where = f"line {line}, column {column}"
    if getattr(exc, "code", None) == _ERR_RESOURCE_LIMIT or "XML_PARSE_HUGE" in str(exc):
        return UnsafeInputError(
            "over the XML parser's safety limits (nesting depth, text size, entity expansion)",
            record_id=record_id,
            where=where,
        )
    return RecordParseError("malformed XML", record_id=record_id, where=where)


def _refuse_dtd(tree: etree._ElementTree, record_id: str) -> None:
    """Second line of defence, should a declaration get past the scan."""
    docinfo = tree.docinfo
    internal: object = docinfo.internalDTD
    external: object = docinfo.externalDTD
    doctype: object = getattr(docinfo, "doctype", "")
    if doctype or internal is not None or external is not None:
        raise UnsafeInputError(
            "document type (DOCTYPE) declarations are not allowed", record_id=record_id
        )


def _read_document(
    source: str | bytes | os.PathLike[str],
    record_id: str | None,
    *,
    max_bytes: int,
    max_depth: int,
    max_elements: int,
) -> tuple[bytes, str | None, str]:
    """(bytes, encoding the parser must use or None to detect, record id), limits checked.

    Apart from :func:`_parse_document` so a reader can undo a transport encoding (gzip) between.
    """
    if min(max_bytes, max_depth, max_elements) < 1:
        raise ConfigurationError("max_bytes, max_depth and max_elements must be positive")
    return _load(source, record_id, max_bytes)


def _parse_document(
    data: bytes, forced: str | None, record_id: str, *, max_depth: int, max_elements: int
) -> etree._ElementTree:
    """The one safe path every XML reader takes: empty input and declarations refused, then a
    hardened parse under the depth and element limits."""
    if not data.strip():
        raise RecordParseError("empty document", record_id=record_id)
    _refuse_declarations(data, forced, record_id)
    return _parse(data, forced, _Limits(record_id, max_depth, max_elements))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [child for child in parent if isinstance(child.tag, str)]


class _Paths:
    """The XPath of each element, computed in linear time.

    lxml's ``getpath`` counts siblings for every call, which is quadratic on wide documents
    (minutes for 50 000 siblings). This computes every child's step of a parent at once, in the
    same syntax, except that prefixed elements become ``*[n]`` (see the module docstring).
    """

    def __init__(self) -> None:
        # lxml returns the same proxy for a node while a reference to it is alive, so the
        # elements held as keys here stay valid keys.
        self._known: dict[etree._Element, str] = {}

    def of(self, element: etree._Element) -> str:
        known = self._known.get(element)
        if known is not None:
            return known
        parent = element.getparent()
        if parent is None:
            path = "/*" if element.tag.startswith("{") else f"/{element.tag}"
            self._known[element] = path
            return path
        base = self.of(parent)
        for child, step in _child_steps(parent):
            self._known[child] = f"{base}/{step}"
        return self._known[element]

    def attr(self, element: etree._Element, name: str) -> str:
        base = self.of(element)
        if not name.startswith("{"):
            return f"{base}/@{name}"
        uri, local = name[1:].split("}", 1)
        quote = "'" if "'" not in uri else '"'
        return f"{base}/@*[local-name()='{local}' and namespace-uri()={quote}{uri}{quote}]"


def _child_steps(parent: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    children = _elements(parent)
    totals = Counter(child.tag for child in children if not child.tag.startswith("{"))
    seen: Counter[str] = Counter()
    for position, child in enumerate(children, start=1):
        tag = child.tag
        if tag.startswith("{"):
            # Namespaced names cannot be written without a prefix map: position among all.
            yield child, "*" if len(children) == 1 else f"*[{position}]"
        else:
            seen[tag] += 1
            yield child, tag if totals[tag] == 1 else f"{tag}[{seen[tag]}]"


def _own_text(element: etree._Element) -> str:
    return "".join(piece for piece in element.itertext() if isinstance(piece, str))


def _squeeze(text: str) -> str:
    return " ".join(text.split())
