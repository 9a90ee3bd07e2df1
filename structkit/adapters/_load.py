"""One entry point that turns whatever the user has into a :class:`Record`.

``load(source)`` picks the adapter from the source: a ``Record`` passes through; a dict/list is
JSON (FHIR when it has ``resourceType``); a pandas DataFrame is a table; a path is chosen by its
suffix (``.json``, ``.xml``, ``.csv``/``.tsv``, ``.md``); text and bytes by their first
character (``<`` XML, ``{``/``[`` JSON, ``|`` Markdown table). ``kind=`` overrides the guess.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .._errors import RecordParseError
from ._json import parse_json
from ._record import Record
from ._source import is_inline_text, read_source

__all__ = ["KINDS", "is_dataframe", "is_inline_text", "load"]

KINDS = ("json", "xml", "xbrl", "csv", "markdown", "dataframe", "text")
_SUFFIX_KIND = {
    ".json": "json",
    ".fhir": "json",
    ".xml": "xml",
    ".cda": "xml",
    ".xhtml": "xbrl",
    ".htm": "xbrl",
    ".html": "xbrl",
    ".csv": "csv",
    ".tsv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}


def is_dataframe(source: Any) -> bool:
    module = type(source).__module__
    return module.startswith("pandas") and type(source).__name__ == "DataFrame"


_MD_TABLE = re.compile(r"^\s*\|.*\|\s*$\n^\s*\|?\s*:?-{3,}", re.M)


def _guess_text_kind(text: str) -> str | None:
    head = text.lstrip("\ufeff \t\r\n")[:1]
    return {"<": "xml", "{": "json", "[": "json", "|": "markdown"}.get(head)


def _guess_content_kind(text: str) -> str:
    kind = _guess_text_kind(text)
    if kind:
        return kind
    return "markdown" if _MD_TABLE.search(text[:100_000]) else "text"


def _guess(source: Any) -> str:
    if isinstance(source, (dict, list)):
        return "json"
    if is_dataframe(source):
        return "dataframe"
    if isinstance(source, bytes):
        kind = _guess_text_kind(source[:64].decode("utf-8", "ignore"))
        if kind is None and source[:2] in (b"\xff\xfe", b"\xfe\xff"):
            kind = "xml"  # UTF-16 with a BOM: only XML declares its own encoding
        if kind:
            return kind
    elif isinstance(source, str) and is_inline_text(source):
        return _guess_content_kind(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix == ".gz":  # filing.xml.gz, filing.htm.gz (XBRL reads gzip, bounded)
            suffix = Path(path.stem).suffix.lower()
        if suffix in _SUFFIX_KIND:
            return _SUFFIX_KIND[suffix]
        if not path.is_file():
            # Could be a one-line text rather than a path: never echo it (it may be PHI).
            raise RecordParseError(
                f"not an existing file and not recognizable content; pass kind= one of {KINDS}"
            )
        raise RecordParseError(
            f"cannot tell the format from the suffix {suffix!r}; pass kind= one of {KINDS}",
            record_id=path.name,
        )
    raise RecordParseError(f"unsupported record type {type(source).__name__}")


def _is_xbrl(source: Any) -> bool:
    """An XML source whose first bytes show an XBRL instance or inline XBRL document."""
    from ._xbrl import looks_like_xbrl

    if isinstance(source, bytes):
        return looks_like_xbrl(source[:65536])
    if isinstance(source, str) and is_inline_text(source):
        return looks_like_xbrl(source[:8192].encode("utf-8", "ignore"))
    try:
        with Path(source).open("rb") as handle:
            return looks_like_xbrl(handle.read(65536))
    except (OSError, TypeError, ValueError):
        return False  # the XML adapter reports the problem


def load(
    source: Any, *, kind: str | None = None, record_id: str | None = None, **options: Any
) -> Record:
    """Read ``source`` into a :class:`Record` with provenance on every value.

    Args:
        source: a Record, dict/list, pandas DataFrame, path, text or bytes.
        kind: force an adapter: ``json``, ``xml``, ``csv``, ``markdown``, ``dataframe``.
        record_id: the id used in errors and outputs (default: file name or a generic name).
        **options: passed to the adapter (e.g. ``scale="millions"`` for CSV statements).

    Raises:
        RecordParseError, UnsafeInputError: the source cannot be read safely.
    """
    if isinstance(source, Record):
        return source
    chosen = kind or _guess(source)
    if chosen == "json":
        return parse_json(source, record_id=record_id, **options)
    if chosen == "xml" and _is_xbrl(source):
        chosen = "xbrl"
    if chosen == "xbrl":
        from ._xbrl import parse_xbrl

        return parse_xbrl(source, record_id=record_id, **options)
    if chosen == "xml":
        from ._xml import parse_xml

        return parse_xml(source, record_id=record_id, **options)
    if chosen == "csv":
        from ._table import read_csv

        return read_csv(source, record_id=record_id, **options)
    if chosen == "markdown":
        from ._table import read_markdown_table

        read = read_source(source, record_id=record_id, default_id="markdown")
        text, record_id = read.decoded(), read.record_id
        return read_markdown_table(text, record_id=record_id or "markdown", **options)
    if chosen == "text":
        from ._text import parse_text

        return parse_text(source, record_id=record_id, **options)
    if chosen == "dataframe":
        from ._table import from_dataframe

        return from_dataframe(source, record_id=record_id or "table", **options)
    raise RecordParseError(f"unknown kind {chosen!r}; use one of {KINDS}", record_id=record_id)
