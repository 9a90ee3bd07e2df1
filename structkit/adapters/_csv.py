"""One CSV file (or text) into one table record: exact strings; ragged rows, bad bytes refused."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._errors import RecordParseError
from ._cells import _MAX_LISTED, KIND, MAX_BYTES, MAX_FIELD_CHARS, _check_columns, _section
from ._csv_rows import _BadRow, _find_header, _parse_rows, _Row, _row_error
from ._dtypes import _bad_cells, _check_dtypes, _dtype_error, _infer_dtype
from ._record import Record
from ._source import is_inline_text, read_source
from ._units import _check_units, _units_meta

Source = str | bytes | os.PathLike[str]


def _is_text(source: Source) -> bool:
    return isinstance(source, str) and is_inline_text(source)


def _decode(data: bytes, *, encoding: str) -> str:
    # surrogateescape keeps undecodable bytes visible per row, so the error names their line.
    text = data.decode(encoding, errors="surrogateescape")
    return text.removeprefix("\ufeff")


def _load_text(source: Source, *, record_id: str, max_bytes: int, encoding: str) -> str:
    read = read_source(source, record_id=record_id, default_id="csv", max_bytes=max_bytes)
    if read.text is not None:
        return read.text.removeprefix("\ufeff")
    assert read.data is not None
    return _decode(read.data, encoding=encoding)


def _default_names(source: Source) -> tuple[str, str]:
    if isinstance(source, bytes) or (isinstance(source, str) and _is_text(source)):
        return "csv", "table"
    path = Path(source)
    return path.name, path.stem


def _collect_rows(rows: Iterable[_Row], width: int, *, record_id: str) -> list[tuple[_Row, int]]:
    """Every data row with its number; any broken or ragged row fails the whole read."""
    good: list[tuple[_Row, int]] = []
    ragged: list[str] = []
    for n, row in enumerate(rows, start=1):
        if isinstance(row, _BadRow):
            raise _row_error(row, record_id=record_id)
        if len(row.fields) != width:
            ragged.append(f"{row.where} has {len(row.fields)} fields")
        good.append((row, n))
    if ragged:
        listed = "; ".join(ragged[:_MAX_LISTED])
        more = f"; and {len(ragged) - _MAX_LISTED} more" if len(ragged) > _MAX_LISTED else ""
        raise RecordParseError(
            f"ragged rows (the header has {width} fields): {listed}{more}",
            record_id=record_id,
            where=ragged[0].split(" has ")[0],
        )
    if not good:
        raise RecordParseError("the CSV has a header but no data rows", record_id=record_id)
    return good


def read_csv(
    source: str | bytes | os.PathLike[str],
    *,
    record_id: str | None = None,
    title: str | None = None,
    dtypes: Mapping[str, str] | None = None,
    currency: str | None = None,
    scale: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    max_bytes: int = MAX_BYTES,
    max_field_chars: int = MAX_FIELD_CHARS,
) -> Record:
    """Read a CSV file or CSV text into a one-table :class:`Record`, every cell exactly as written.

    "NA", "None", "null", "" and "00123" come back unchanged. A UTF-8 BOM is stripped. Blank lines
    are skipped and are not data rows. One-field lines above a wider header (a statement's title
    and "(in thousands)") are a preamble: kept in ``meta["preamble"]`` and used to find units.

    Args:
        source: a path, CSV text (must contain a line break) or bytes.
        record_id: names the record in errors and outputs (default: the file name, or "csv").
        title: the section title (default: the file's stem, or "table").
        dtypes: ``{column: "int" | "float" | "str" | "date"}`` to validate per cell. Numbers may
            be written the accounting way ("1,234", "(565)", "$5"); an empty cell or a dash is a
            missing value and passes. Dates are ISO 8601. The cells stay text.
        currency: ISO 4217 code for the amounts; overrides what the file says.
        scale: one of :data:`SCALES`; overrides what the file says.
        delimiter: the field separator (``"\\t"`` for TSV).
        encoding: of a file or bytes.
        max_bytes: refuse larger input.
        max_field_chars: refuse any longer field.

    Returns:
        A record whose ``meta`` holds ``dtypes`` (JSON: declared, else inferred per column) and,
        when known, ``currency``, ``scale`` and ``preamble``.

    Raises:
        RecordParseError: empty file, header without rows, duplicate headers (named), ragged rows
            (their line numbers), broken quoting, undecodable bytes, or a cell that breaks its
            declared dtype (named by row and column, never by value).
        UnsafeInputError: input over ``max_bytes``, a field over ``max_field_chars``.
        ConfigurationError: ``dtypes``/``currency``/``scale`` that cannot be used.
    """
    default_id, default_title = _default_names(source)
    rid = record_id or default_id
    _check_units(currency, scale)
    text = _load_text(source, record_id=rid, max_bytes=max_bytes, encoding=encoding)
    rows = _parse_rows(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        max_field_chars=max_field_chars,
        max_line_chars=len(text) + 1,  # already bounded by max_bytes
    )
    head = _find_header(rows, record_id=rid)
    columns = head.header.fields
    _check_columns(columns, record_id=rid, where=head.header.where)
    declared = _check_dtypes(dtypes, columns)
    data = _collect_rows([*head.pending, *rows], len(columns), record_id=rid)
    bad = [p for row, n in data for p in _bad_cells(columns, row.fields, n, declared)]
    if bad:
        raise _dtype_error(bad, declared, record_id=rid)
    types = {
        col: declared.get(col) or _infer_dtype(row.fields[i] for row, _ in data)
        for i, col in enumerate(columns)
    }
    meta, issues = _units_meta(head.preamble, columns, currency=currency, scale=scale)
    meta["dtypes"] = json.dumps(types, ensure_ascii=False)
    section = _section(title or default_title, columns, ((n, row.fields) for row, n in data))
    return Record(record_id=rid, kind=KIND, sections=[section], meta=meta, issues=issues)
