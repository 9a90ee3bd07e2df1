"""One entry point that turns whatever the user has into a :class:`Record`.

``load(source)`` picks the adapter from the source: a ``Record`` passes through; a dict/list is
JSON (FHIR when it has ``resourceType``); a pandas DataFrame is a table; a path is chosen by its
suffix (``.json``, ``.xml``, ``.csv``/``.tsv``, ``.md``); text and bytes by their first
character (``<`` XML, ``{``/``[`` JSON, ``|`` Markdown table). ``kind=`` overrides the guess.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._errors import RecordParseError
from ._json import parse_json
from ._record import Record

__all__ = ["KINDS", "load"]

KINDS = ("json", "xml", "csv", "markdown", "dataframe", "text")
_SUFFIX_KIND = {
    ".json": "json",
    ".fhir": "json",
    ".xml": "xml",
    ".cda": "xml",
    ".csv": "csv",
    ".tsv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}


def _is_dataframe(source: Any) -> bool:
    module = type(source).__module__
    return module.startswith("pandas") and type(source).__name__ == "DataFrame"


def _guess_text_kind(text: str) -> str | None:
    head = text.lstrip("\ufeff \t\r\n")[:1]
    return {"<": "xml", "{": "json", "[": "json", "|": "markdown"}.get(head)


def _guess(source: Any) -> str:
    if isinstance(source, (dict, list)):
        return "json"
    if _is_dataframe(source):
        return "dataframe"
    if isinstance(source, bytes):
        kind = _guess_text_kind(source[:64].decode("utf-8", "ignore"))
        if kind is None and source[:2] in (b"\xff\xfe", b"\xfe\xff"):
            kind = "xml"  # UTF-16 with a BOM: only XML declares its own encoding
        if kind:
            return kind
    elif isinstance(source, str) and (kind := _guess_text_kind(source)):
        return kind
    if isinstance(source, (str, os.PathLike)):
        suffix = Path(source).suffix.lower()
        if suffix in _SUFFIX_KIND:
            return _SUFFIX_KIND[suffix]
        raise RecordParseError(
            f"cannot tell the format of {Path(source).name!r}; pass kind= one of {KINDS}",
            record_id=Path(source).name,
        )
    raise RecordParseError(f"unsupported record type {type(source).__name__}")


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
    if chosen == "xml":
        from ._xml import parse_xml

        return parse_xml(source, record_id=record_id, **options)
    if chosen == "csv":
        from ._table import read_csv

        return read_csv(source, record_id=record_id, **options)
    if chosen == "markdown":
        from ._table import read_markdown_table

        text = source.decode("utf-8") if isinstance(source, bytes) else source
        if isinstance(text, (str, os.PathLike)) and _guess_text_kind(str(text)) is None:
            path = Path(text)
            text = path.read_text(encoding="utf-8-sig")
            record_id = record_id or path.name
        return read_markdown_table(str(text), record_id=record_id or "markdown", **options)
    if chosen == "text":
        from ._text import parse_text

        return parse_text(source, record_id=record_id, **options)
    if chosen == "dataframe":
        from ._table import from_dataframe

        return from_dataframe(source, record_id=record_id or "table", **options)
    raise RecordParseError(f"unknown kind {chosen!r}; use one of {KINDS}", record_id=record_id)
