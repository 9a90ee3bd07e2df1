"""Tables: pandas DataFrames, CSV files (incl. financial statements) and Markdown pipe tables.

Every table becomes a :class:`Section` with ``columns`` and ``rows`` of :class:`Value`; a cell's
pointer is ``row=<n>;col=<name>`` with ``n`` the 1-based data row of the source (blank lines and
the header are not data rows), so ``pointer -> cell`` works on the original file.

CSV is read with the standard :mod:`csv` module rather than ``pandas.read_csv`` because the job
is to keep the user's text exactly and to refuse what is malformed, and pandas works against both:
it turns "NA"/"None"/"null" into NaN and "00123" into 123 unless told otherwise, silently renames
duplicate headers to ``id.1``, pads short rows with NaN, may silently move a column into the
index when every row is one field too long, and stops the whole read on one bad line. The csv
module hands back strings only, reports each row with the lines it came from, and keeps going
after a bad row, which is what :func:`iter_csv_records` needs for batch jobs.

Financial statements (line items in the first column, periods in the others) get their units in
``Record.meta``: ``{"currency": "USD", "scale": "millions"}`` from the ``currency=``/``scale=``
arguments, else from a preamble line above the header such as "(in thousands)" or "USD in
millions, except per share", else from the header cells. Numbers stay text: "(565)" and "-565"
are kept as written; scale is stated, never applied.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from .._errors import ConfigurationError, InputError, RecordParseError, UnsafeInputError
from ._record import Record, Section, Value
from ._source import is_inline_text, read_source

__all__ = [
    "DTYPES",
    "SCALES",
    "cell_pointer",
    "from_dataframe",
    "iter_csv_records",
    "parse_pointer",
    "read_csv",
    "read_markdown_table",
    "to_dataframe",
]

KIND = "table"
MAX_BYTES = 50 * 1024 * 1024
MAX_FIELD_CHARS = 100_000
MAX_LINE_CHARS = 1_000_000
DTYPES = ("int", "float", "str", "date")
SCALES = ("units", "thousands", "millions", "billions")

# A title/units block above a statement's header is a few lines; looking further would start to
# mistake a single-column file's data for preamble.
_MAX_PREAMBLE_LINES = 10
_MAX_LISTED = 10  # line numbers listed in one error message


# --------------------------------------------------------------------------- pointers


def cell_pointer(row: int, column: str) -> str:
    """The pointer of the cell in 1-based data row ``row`` and column ``column``."""
    return f"row={row};col={column}"


_POINTER_RE = re.compile(r"row=(\d+);col=(.*)", re.DOTALL)


def parse_pointer(pointer: str) -> tuple[int, str]:
    """Split a table pointer into ``(row, column)``; the inverse of :func:`cell_pointer`.

    The row comes first and is digits only, so a column name containing ``;`` or ``=`` is still
    recovered exactly.
    """
    match = _POINTER_RE.fullmatch(pointer)
    if match is None:
        raise ValueError(f"not a table pointer: {pointer!r}")
    return int(match.group(1)), match.group(2)


def _section(
    title: str, columns: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]]
) -> Section:
    body = [
        [
            Value(key=col, text=text, pointer=cell_pointer(n, col))
            for col, text in zip(columns, cells, strict=True)
        ]
        for n, cells in rows
    ]
    return Section(title=title, columns=list(columns), rows=body)


def _check_columns(columns: Sequence[str], *, record_id: str, where: str | None = None) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(columns, start=1):
        if name in seen:
            # Header names are structure, not record values: naming them is safe and needed.
            raise RecordParseError(
                f"duplicate column header {name!r} (columns {seen[name]} and {index})",
                record_id=record_id,
                where=where,
            )
        seen[name] = index


# --------------------------------------------------------------------------- DataFrames


def _float_text(value: float | np.floating[Any]) -> str:
    number = float(value)  # exact widening of float32/float16; only used for the checks
    if math.isinf(number):
        return "-inf" if number < 0 else "inf"
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))  # 383285.0 (an int column that held a NaN) -> "383285"
    # numpy's "unique" formatting is the shortest text that reads back to the same number *at
    # the value's own precision*: float32 6.16 -> "6.16", where float(...) would give 6.1599998.
    if 1e-4 <= abs(number) < 1e16:
        return np.format_float_positional(value, unique=True, trim="-")
    return np.format_float_scientific(value, unique=True, trim="-")


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _cell_text(value: object, *, record_id: str, where: str) -> str | None:
    """Exact text of one DataFrame cell, or None when the cell is missing."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _float_text(value)
    if isinstance(value, datetime):  # pd.Timestamp is a datetime
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None and stamp == stamp.normalize():
            return stamp.date().isoformat()  # a date column: no " 00:00:00" noise
        return stamp.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise RecordParseError(
                "a bytes cell is not UTF-8 text", record_id=record_id, where=where
            ) from None
    return str(value)


def _column_name(label: object, *, record_id: str) -> str:
    if isinstance(label, tuple):  # MultiIndex columns: keep every level
        return " / ".join(_column_name(part, record_id=record_id) for part in label)
    return _cell_text(label, record_id=record_id, where="header") or ""


def _series_values(series: pd.Series[Any]) -> list[object]:
    dtype = series.dtype
    if pd.api.types.is_float_dtype(dtype):
        # Keep numpy scalars of the column's own width so float32 formats without noise.
        nullable: Any = getattr(dtype, "numpy_dtype", None)  # pandas' Float32 -> float32
        width = (dtype if isinstance(dtype, np.dtype) else np.dtype(nullable)).name
        return list(series.to_numpy(dtype=width, na_value=np.nan))
    return list(series.to_numpy(dtype=object))


def _dtype_name(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    return "str"


def _with_index(df: pd.DataFrame, *, record_id: str) -> pd.DataFrame:
    """Bring a meaningful index (e.g. line items set as the index) back as the first column(s).

    An unnamed integer index is positional (0..n-1, or what is left after filtering) and is
    dropped: row numbers in pointers already say where a row was.
    """
    index = df.index
    named = any(name is not None for name in index.names)
    if not named and pd.api.types.is_integer_dtype(index.dtype):
        return df
    try:
        return df.reset_index()
    except ValueError:  # the index's name is also a column's name
        raise RecordParseError(
            "the DataFrame's index name is also a column name", record_id=record_id
        ) from None


def from_dataframe(
    df: pd.DataFrame,
    *,
    record_id: str = "table",
    title: str = "table",
    meta: Mapping[str, str] | None = None,
    currency: str | None = None,
    scale: str | None = None,
) -> Record:
    """Turn a pandas DataFrame into a one-table :class:`Record`.

    Cells become exact strings: integers stay ``"383285"`` (also in a float column that holds a
    NaN), floats use the shortest text at their own precision (float32 ``6.16`` is ``"6.16"``),
    dates are ISO 8601, and every kind of missing value (None, NaN, NA, NaT) becomes ``""``; how
    many there were is recorded in ``meta["missing_cells"]``. A non-default index (e.g. line items
    set as the index) becomes the first column. Column dtypes go to ``meta["dtypes"]`` as JSON.

    Args:
        df: the table; rows are numbered 1.. in pointers in their DataFrame order.
        record_id: names the record in errors and outputs.
        title: the section title.
        meta: extra facts copied into ``Record.meta``, e.g. ``{"source": "10-K 2023"}``.
        currency, scale: units of a financial statement, as in :func:`read_csv`.

    Raises:
        RecordParseError: duplicate column names, no columns, or no rows.
        ConfigurationError: a ``currency``/``scale`` that cannot be used.
    """
    _check_units(currency, scale)
    frame = _with_index(df, record_id=record_id)
    columns = [_column_name(label, record_id=record_id) for label in frame.columns]
    if not columns:
        raise RecordParseError("the DataFrame has no columns", record_id=record_id)
    _check_columns(columns, record_id=record_id)
    if len(frame) == 0:
        raise RecordParseError("the DataFrame has no rows", record_id=record_id)
    missing = 0
    texts: list[list[str]] = [[] for _ in range(len(frame))]
    for position, column in enumerate(columns):
        for row, value in enumerate(_series_values(frame.iloc[:, position])):
            text = _cell_text(value, record_id=record_id, where=cell_pointer(row + 1, column))
            missing += text is None
            texts[row].append("" if text is None else text)
    record_meta = dict(meta or {})
    record_meta.update({"currency": currency} if currency else {})
    record_meta.update({"scale": scale} if scale else {})
    types = {col: _dtype_name(frame.dtypes.iloc[i]) for i, col in enumerate(columns)}
    record_meta["dtypes"] = json.dumps(types, ensure_ascii=False)
    if missing:
        record_meta["missing_cells"] = str(missing)
    section = _section(title, columns, enumerate(texts, start=1))
    return Record(record_id=record_id, kind=KIND, sections=[section], meta=record_meta)


def to_dataframe(section: Section) -> pd.DataFrame:
    """A table section as a DataFrame of ``str`` columns, indexed by the source's row numbers.

    A key-value section becomes a two-column ``key``/``value`` frame.
    """
    if not section.is_table:
        data = [[v.key, v.text] for v in section.values]
        return pd.DataFrame(data, columns=pd.Index(["key", "value"]), dtype=str)
    width = len(section.columns)
    if any(len(row) != width for row in section.rows):
        raise RecordParseError(f"section {section.title!r} has rows of the wrong width")
    frame = pd.DataFrame(
        [[cell.text for cell in row] for row in section.rows],
        columns=pd.Index(section.columns, dtype=object),
        dtype=str,
    )
    numbers = [_row_number(row) for row in section.rows]
    if all(n is not None for n in numbers):
        frame.index = pd.Index(numbers, name="row")
    return frame


def _row_number(row: Sequence[Value]) -> int | None:
    try:
        return parse_pointer(row[0].pointer)[0] if row else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- CSV: lines and rows


@dataclass(frozen=True)
class _Row:
    """One parsed CSV row and the physical lines it came from."""

    fields: list[str]
    first_line: int
    last_line: int

    @property
    def where(self) -> str:
        if self.first_line == self.last_line:
            return f"line {self.first_line}"
        return f"lines {self.first_line}-{self.last_line}"


@dataclass(frozen=True)
class _BadRow(_Row):
    """Lines the csv module could not turn into a row, or a row refused for its content."""

    problem: str = ""
    unsafe: bool = False
    fatal: bool = False  # reading cannot go on after this (a line over the length limit)
    raw: str = ""  # the row's source text, only for a stable content id; never shown


class _LineTooLong(Exception):
    """Raised through ``csv.reader`` by :class:`_LineTap`; turned into a fatal bad row."""


class _LineTap:
    """Feeds physical lines to ``csv.reader`` and remembers the ones of the current row.

    Reading with ``readline(limit)`` bounds memory even for a file with no line breaks at all.
    """

    def __init__(self, stream: IO[str], *, max_line_chars: int) -> None:
        self._stream = stream
        self._limit = max_line_chars
        self.taken: list[str] = []
        self.lines_read = 0

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = self._stream.readline(self._limit + 1)
        if not line:
            raise StopIteration
        self.lines_read += 1
        if len(line) > self._limit:
            raise _LineTooLong
        self.taken.append(line)
        return line


_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that did not decode (surrogateescape)


def _csv_problem(exc: csv.Error) -> tuple[str, bool]:
    """A message without record content, and whether the row is refused rather than broken."""
    text = str(exc)
    if "field larger than field limit" in text:
        return "a field is longer than the field size limit", True
    if "unexpected end of data" in text:
        return "a quoted field is never closed", False
    if "expected after" in text:
        return "a quote inside a quoted field is not doubled", False
    return "the row is not valid CSV", False


def _row_problem(fields: list[str], *, max_field_chars: int) -> tuple[str, bool] | None:
    for index, field in enumerate(fields, start=1):
        if len(field) > max_field_chars:
            return f"field {index} is longer than {max_field_chars} characters", True
        if _SURROGATE.search(field):
            return f"field {index} is not valid text in the file's encoding", False
    return None


def _is_blank(fields: list[str]) -> bool:
    # csv gives [] for an empty line; a whitespace-only line is blank too (it holds no data, and
    # treating it as a one-field row would report a ragged row nobody can see).
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _ensure_csv_limit(max_field_chars: int) -> None:
    # The csv module's own limit (131072 by default) stops an unclosed quote from swallowing a
    # whole file into one field. It is process-wide, so we only ever raise it, and only when the
    # caller explicitly allows longer fields than it does; our own check enforces the rest.
    if csv.field_size_limit() <= max_field_chars:
        csv.field_size_limit(max_field_chars + 1)


def _parse_rows(
    stream: IO[str],
    *,
    delimiter: str,
    max_field_chars: int,
    max_line_chars: int,
) -> Iterator[_Row]:
    """Non-blank rows in file order; problems come as :class:`_BadRow` and reading goes on."""
    _ensure_csv_limit(max_field_chars)
    tap = _LineTap(stream, max_line_chars=max_line_chars)
    # strict: a stray quote is an error instead of being silently merged into the text.
    reader = csv.reader(tap, delimiter=delimiter, strict=True)
    line = 0
    while True:
        try:
            fields = next(reader)
            problem = _row_problem(fields, max_field_chars=max_field_chars)
        except StopIteration:
            return
        except csv.Error as exc:
            fields, problem = [], _csv_problem(exc)
        except _LineTooLong:
            # Rows already read stay valid; nothing after this line can be trusted.
            too_long = f"a line is longer than {max_line_chars} characters"
            at = tap.lines_read
            yield _BadRow([], at, at, problem=too_long, unsafe=True, fatal=True)
            return
        if line == 0 and fields:
            # A BOM left by a stream opened as plain "utf-8" would glue onto the first header.
            fields[0] = fields[0].removeprefix("\ufeff")
        first, line = line + 1, line + len(tap.taken)
        raw = "".join(tap.taken)
        tap.taken.clear()
        if problem is not None:
            yield _BadRow(fields, first, line, problem=problem[0], unsafe=problem[1], raw=raw)
        elif not _is_blank(fields):
            yield _Row(fields, first, line)


def _row_error(row: _BadRow, *, record_id: str | None) -> InputError:
    error = UnsafeInputError if row.unsafe else RecordParseError
    return error(row.problem, record_id=record_id, where=row.where)


# --------------------------------------------------------------------------- CSV: header


@dataclass
class _Head:
    preamble: list[str]
    header: _Row
    pending: list[_Row]  # rows read while looking for the header, to be processed as data


def _is_preamble_line(fields: list[str]) -> bool:
    # A spreadsheet title or units line: text in the first cell, the rest (if any) empty.
    return bool(fields and fields[0].strip()) and not any(f.strip() for f in fields[1:])


def _find_header(rows: Iterator[_Row], *, record_id: str) -> _Head:
    """Find the header, treating title/units lines above a wider header as a preamble.

    A statement exported from a spreadsheet often starts with lines like "Acme Inc." or
    "(in thousands)" above the real header. Such lines are only taken as a preamble when a wider
    row follows them and the row after that has the same width; otherwise the first row is the
    header (a single-column file, or a ragged row that must be reported, not silently promoted).
    """
    buffered: list[_Row] = []
    for row in rows:
        buffered.append(row)
        if isinstance(row, _BadRow) or not _is_preamble_line(row.fields):
            break
        if len(buffered) > _MAX_PREAMBLE_LINES:
            break
    if not buffered:
        raise RecordParseError("the CSV is empty", record_id=record_id)
    candidate = buffered[-1]
    wider = not isinstance(candidate, _BadRow) and not _is_preamble_line(candidate.fields)
    if len(buffered) > 1 and wider and len(candidate.fields) > 1:
        following = next(rows, None)
        if following is not None and len(following.fields) == len(candidate.fields):
            preamble = [" ".join(" ".join(r.fields).split()) for r in buffered[:-1]]
            return _Head(preamble, candidate, [following])
        if following is not None:
            buffered.append(following)
    header = buffered[0]
    if isinstance(header, _BadRow):
        raise _row_error(header, record_id=record_id)
    return _Head([], header, buffered[1:])


# --------------------------------------------------------------------------- CSV: units


_CURRENCY_CODE_RE = re.compile(
    r"\b(USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|HKD|SGD|INR|KRW|SEK|NOK|DKK|BRL|MXN|ZAR)\b"
)
_CURRENCY_SIGNS = (
    (re.compile(r"US\$|\bU\.?S\.? dollars?\b", re.IGNORECASE), "USD"),
    (re.compile(r"€"), "EUR"),
    (re.compile(r"£"), "GBP"),
    (re.compile(r"\$"), "USD"),  # a bare "$" is the common US convention; say so in the docs
)
_SCALE_RE = re.compile(
    r"\b(?P<word>thousands?|millions?|billions?)\b"
    r"|(?P<k>\b000'?s\b|'000\b|[$€£]\s?000\b)"
    r"|[$€£]\s?(?P<m>mm|mn|m)\b|[$€£]\s?(?P<b>bn|b)\b",
    re.IGNORECASE,
)
# "except per share amounts", "shares in Thousands, $ in Millions": scale words about shares or
# in an exception clause do not describe the money columns.
_EXCEPT_RE = re.compile(r"\bexcept\b.*", re.IGNORECASE | re.DOTALL)
_SHARES_RE = re.compile(
    r"\bshares?\b[^,;)]*?\bin\s+(?:thousands|millions|billions)\b", re.IGNORECASE
)


def _scale_in(text: str) -> str | None:
    text = _SHARES_RE.sub(" ", _EXCEPT_RE.sub(" ", text))
    match = _SCALE_RE.search(text)
    if match is None:
        return None
    if match.group("word"):
        word = match.group("word").lower()
        return word if word.endswith("s") else word + "s"
    if match.group("k"):
        return "thousands"
    return "millions" if match.group("m") else "billions"


def _currency_in(text: str) -> str | None:
    match = _CURRENCY_CODE_RE.search(text)
    if match:
        return match.group(1)
    for pattern, code in _CURRENCY_SIGNS:
        if pattern.search(text):
            return code
    return None


def _detect_units(texts: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Currency and scale from preamble lines and headers: the first mention wins."""
    found: dict[str, str] = {}
    issues: list[str] = []
    for text in texts:
        for key, value in (("currency", _currency_in(text)), ("scale", _scale_in(text))):
            if value is None:
                continue
            if key not in found:
                found[key] = value
            elif found[key] != value:
                issues.append(f"{key}: found both {found[key]} and {value}; using {found[key]}")
    return found, issues


def _units_meta(
    preamble: list[str],
    columns: list[str],
    *,
    currency: str | None,
    scale: str | None,
) -> tuple[dict[str, str], list[str]]:
    found, issues = _detect_units([*preamble, *columns])
    for key, given in (("currency", currency), ("scale", scale)):
        if given and found.get(key, given) != given:
            issues.append(f"{key}: the file says {found[key]}; using the argument {given}")
    meta: dict[str, str] = {}
    chosen_currency = currency or found.get("currency")
    chosen_scale = scale or found.get("scale")
    if chosen_currency:
        meta["currency"] = chosen_currency
    if chosen_scale:
        meta["scale"] = chosen_scale
    if preamble:
        # The model sees the original wording too ("except per share amounts" matters).
        meta["preamble"] = " / ".join(preamble)
    return meta, issues


def _check_units(currency: str | None, scale: str | None) -> None:
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigurationError(f"currency must be an ISO 4217 code like 'USD', not {currency!r}")
    if scale is not None and scale not in SCALES:
        raise ConfigurationError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")


# --------------------------------------------------------------------------- CSV: dtypes


_MISSING = {"", "-", "\u2013", "\u2014"}  # empty, or the dash a statement prints for nil
_UNSIGNED_INT = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
_UNSIGNED_FLOAT = re.compile(r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _number_core(text: str) -> str:
    """Strip accounting dress: "(1,234)", "-$5", "$(5)", "\u22125" -> the digits to check."""
    core = text.strip()
    if core.startswith("(") and core.endswith(")"):
        core = core[1:-1].strip()
    core = core.replace("\u2212", "-")
    if core[:1] in "+-":
        core = core[1:]
    if core[:1] in "$€£":
        core = core[1:].strip()
    if core.startswith("(") and core.endswith(")"):
        core = core[1:-1].strip()
    return core


def _is_int(text: str) -> bool:
    return bool(_UNSIGNED_INT.fullmatch(_number_core(text)))


def _is_float(text: str) -> bool:
    return bool(_UNSIGNED_FLOAT.fullmatch(_number_core(text)))


def _is_date(text: str) -> bool:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text.strip())
        except ValueError:
            continue
        return True
    return False


def _is_str(text: str) -> bool:
    return True


_CHECKS = {"int": _is_int, "float": _is_float, "date": _is_date, "str": _is_str}


def _cell_ok(text: str, dtype: str) -> bool:
    if dtype != "str" and text.strip() in _MISSING:
        return True
    return _CHECKS[dtype](text)


def _infer_dtype(cells: Iterable[str]) -> str:
    present = [c for c in cells if c.strip() not in _MISSING]
    if not present:
        return "str"
    # "00123" reads as a number but its zeros say it is a code (zip, account): call it str.
    if any(re.match(r"[+-]?0\d", _number_core(c)) for c in present):
        return "str"
    for dtype in ("int", "float", "date"):
        if all(_CHECKS[dtype](c) for c in present):
            return dtype
    return "str"


def _check_dtypes(dtypes: Mapping[str, str] | None, columns: Sequence[str]) -> dict[str, str]:
    chosen = dict(dtypes or {})
    for column, dtype in chosen.items():
        if column not in columns:
            raise ConfigurationError(f"dtypes names column {column!r}, which the header lacks")
        if dtype not in DTYPES:
            raise ConfigurationError(f"dtype {dtype!r} for {column!r}; use one of {DTYPES}")
    return chosen


def _bad_cells(
    columns: Sequence[str], cells: Sequence[str], n: int, dtypes: Mapping[str, str]
) -> list[str]:
    """Pointers of the cells of data row ``n`` that break their declared dtype."""
    return [
        cell_pointer(n, col)
        for col, text in zip(columns, cells, strict=True)
        if col in dtypes and not _cell_ok(text, dtypes[col])
    ]


def _dtype_error(
    bad: list[str], dtypes: Mapping[str, str], *, record_id: str | None, where: str | None = None
) -> RecordParseError:
    n, column = parse_pointer(bad[0])
    more = f" ({len(bad) - 1} more bad cells)" if len(bad) > 1 else ""
    return RecordParseError(
        f"column {column!r} row {n} is not a valid {dtypes[column]}{more}",
        record_id=record_id,
        where=where or bad[0],
    )


# --------------------------------------------------------------------------- CSV: read_csv


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


# --------------------------------------------------------------------------- CSV: batches


def _content_id(cells: Sequence[object]) -> str:
    """sha256 over the cells (JSON-encoded, so cell boundaries count), first 16 hex digits."""
    blob = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class _SeenIds:
    """Ids already yielded, kept as 16-byte digests so a huge batch costs ~100 bytes a record."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def add(self, record_id: str) -> bool:
        """Remember ``record_id``; False if it was already there."""
        digest = hashlib.sha256(record_id.encode("utf-8", "surrogatepass")).digest()[:16]
        if digest in self._seen:
            return False
        self._seen.add(digest)
        return True


@dataclass
class _Batch:
    """What every batch record shares."""

    source_id: str  # the file's name, for errors about the file rather than one record
    columns: list[str]
    title: str
    meta: dict[str, str]
    issues: list[str]
    dtypes: dict[str, str]
    id_index: int | None
    group_index: int | None


@dataclass
class _Group:
    key: str
    rows: list[tuple[int, _Row]]


def _open_stream(source: str | os.PathLike[str] | IO[str], *, encoding: str) -> IO[str]:
    if isinstance(source, (str, os.PathLike)):
        try:
            return open(  # closed by _iter_csv's finally
                source, encoding=encoding, errors="surrogateescape", newline=""
            )
        except OSError as exc:
            name = Path(source).name
            raise InputError(f"cannot read the CSV file: {exc.strerror}", record_id=name) from None
    return source


def _row_outcome(row: _Row, n: int, batch: _Batch) -> tuple[str, InputError | None]:
    """The id of data row ``n`` and, if it cannot be a record, why."""
    if isinstance(row, _BadRow):
        if row.fatal:
            raise _row_error(row, record_id=batch.source_id)
        rid = _content_id([row.raw])
        return rid, _row_error(row, record_id=rid)
    width = len(batch.columns)
    if len(row.fields) != width:
        # Field positions of a ragged row are unreliable, so its id is a content hash.
        rid = _content_id(row.fields)
        problem = f"data row {n} has {len(row.fields)} fields, the header has {width}"
        return rid, RecordParseError(problem, record_id=rid, where=row.where)
    if batch.id_index is not None:
        rid = row.fields[batch.id_index]
        if not rid.strip():
            rid = _content_id(row.fields)
            return rid, RecordParseError(
                f"data row {n} has an empty id", record_id=rid, where=row.where
            )
    else:
        rid = _content_id(row.fields)
    bad = _bad_cells(batch.columns, row.fields, n, batch.dtypes)
    if bad:
        return rid, _dtype_error(bad, batch.dtypes, record_id=rid, where=row.where)
    return rid, None


def _batch_record(record_id: str, rows: list[tuple[int, _Row]], batch: _Batch) -> Record:
    section = _section(batch.title, batch.columns, ((n, row.fields) for n, row in rows))
    return Record(
        record_id=record_id,
        kind=KIND,
        sections=[section],
        meta=dict(batch.meta),
        issues=list(batch.issues),
    )


def _emit(
    record_id: str, rows: list[tuple[int, _Row]], batch: _Batch, seen: _SeenIds
) -> tuple[str, Record | InputError]:
    if not seen.add(record_id):
        first, last = rows[0][1], rows[-1][1]
        where = first.where if len(rows) == 1 else f"lines {first.first_line}-{last.last_line}"
        return record_id, RecordParseError(
            "duplicate record id: an earlier record already has it",
            record_id=record_id,
            where=where,
        )
    return record_id, _batch_record(record_id, rows, batch)


def _iter_batch(
    rows: Iterator[_Row], batch: _Batch, *, chunk_rows: int
) -> Iterator[tuple[str, Record | InputError]]:
    seen = _SeenIds()
    group: _Group | None = None
    n = 0
    # Pull rows a chunk at a time: memory holds one chunk (plus the open group), whatever the
    # file size.
    while chunk := list(islice(rows, chunk_rows)):
        for row in chunk:
            n += 1
            rid, error = _row_outcome(row, n, batch)
            if error is not None:
                yield rid, error
                continue
            if batch.group_index is None:
                yield _emit(rid, [(n, row)], batch, seen)
                continue
            key = row.fields[batch.group_index]
            if group is not None and group.key == key:
                group.rows.append((n, row))
                continue
            if group is not None:
                yield _emit(group.key, group.rows, batch, seen)
            group = _Group(key, [(n, row)])
    if group is not None:
        yield _emit(group.key, group.rows, batch, seen)


def _column_index(columns: list[str], name: str | None, what: str) -> int | None:
    if name is None:
        return None
    if name not in columns:
        raise ConfigurationError(f"{what} {name!r} is not a column of the CSV")
    return columns.index(name)


def iter_csv_records(
    source: str | os.PathLike[str] | IO[str],
    *,
    id_column: str | None = None,
    group_by: str | None = None,
    chunk_rows: int = 10_000,
    title: str | None = None,
    dtypes: Mapping[str, str] | None = None,
    currency: str | None = None,
    scale: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
    max_field_chars: int = MAX_FIELD_CHARS,
    max_line_chars: int = MAX_LINE_CHARS,
) -> Iterator[tuple[str, Record | InputError]]:
    """Read a (huge) CSV lazily as one record per row, or per run of rows sharing ``group_by``.

    Every data row is accounted for exactly once and in order: either inside a record, or as an
    ``(id, error)`` pair for that row alone (ragged, broken quoting, a field over the limit, an
    empty id, a cell breaking ``dtypes``), after which iteration goes on. A group is yielded when
    its run ends, so an error inside a run comes out before the run's record. Pointers use the
    row's number in the whole file, so they lead back to the source.

    Record ids are the ``id_column`` value (with ``group_by``: the group value), else a content
    hash (sha256 of the row's cells, first 16 hex digits), stable across runs. An id seen before
    yields ``(id, RecordParseError)`` for the later record. A broken or ragged row's id is always
    its content hash, because its field positions cannot be trusted.

    Args:
        source: a path, or an open text stream (read from its position, not closed).
        id_column: the column holding each record's id.
        group_by: consecutive rows with the same value here form one record, whose id is that
            value (pass ``id_column`` only if it is the same column).
        chunk_rows: rows parsed per step; memory holds one chunk and the open group.
        title: the section title (default: the file's stem, or "table").
        dtypes: validated per row as in :func:`read_csv`.
        currency, scale: units for every record (else detected from a preamble or the header).
        delimiter, encoding: of the file (``utf-8-sig`` strips a BOM).
        max_field_chars: a row with a longer field yields UnsafeInputError.
        max_line_chars: a longer physical line stops the iteration with UnsafeInputError (the
            row boundaries after it cannot be trusted).

    Raises:
        ConfigurationError: at once, for bad ``chunk_rows``/``currency``/``scale`` or an
            ``id_column`` different from ``group_by``; on the first ``next`` for columns that
            the header lacks.
        RecordParseError: on the first ``next``, for an empty file, duplicate headers or a
            broken header row; nothing is yielded before.
        UnsafeInputError: a physical line over ``max_line_chars`` (iteration stops there).
    """
    if chunk_rows < 1:
        raise ConfigurationError("chunk_rows must be at least 1")
    if id_column is not None and group_by is not None and id_column != group_by:
        raise ConfigurationError("with group_by the record id is the group value; drop id_column")
    _check_units(currency, scale)
    options = _BatchOptions(
        id_column=group_by or id_column,
        group_by=group_by,
        chunk_rows=chunk_rows,
        title=title,
        dtypes=dict(dtypes or {}),
        currency=currency,
        scale=scale,
        delimiter=delimiter,
        encoding=encoding,
        max_field_chars=max_field_chars,
        max_line_chars=max_line_chars,
    )
    return _iter_csv(source, options)


@dataclass(frozen=True)
class _BatchOptions:
    id_column: str | None
    group_by: str | None
    chunk_rows: int
    title: str | None
    dtypes: dict[str, str]
    currency: str | None
    scale: str | None
    delimiter: str
    encoding: str
    max_field_chars: int
    max_line_chars: int


def _iter_csv(
    source: str | os.PathLike[str] | IO[str], options: _BatchOptions
) -> Iterator[tuple[str, Record | InputError]]:
    default_id, default_title = _stream_names(source)
    stream = _open_stream(source, encoding=options.encoding)
    try:
        rows = _parse_rows(
            stream,
            delimiter=options.delimiter,
            max_field_chars=options.max_field_chars,
            max_line_chars=options.max_line_chars,
        )
        head = _find_header(rows, record_id=default_id)
        columns = head.header.fields
        _check_columns(columns, record_id=default_id, where=head.header.where)
        meta, issues = _units_meta(
            head.preamble, columns, currency=options.currency, scale=options.scale
        )
        batch = _Batch(
            source_id=default_id,
            columns=columns,
            title=options.title or default_title,
            meta=meta,
            issues=issues,
            dtypes=_check_dtypes(options.dtypes, columns),
            id_index=_column_index(columns, options.id_column, "id_column"),
            group_index=_column_index(columns, options.group_by, "group_by"),
        )
        rest = _chain(head.pending, rows)
        yield from _iter_batch(rest, batch, chunk_rows=options.chunk_rows)
    finally:
        if stream is not source:
            stream.close()


def _chain(first: list[_Row], rest: Iterator[_Row]) -> Iterator[_Row]:
    yield from first
    yield from rest


def _stream_names(source: str | os.PathLike[str] | IO[str]) -> tuple[str, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return path.name, path.stem
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return Path(name).name, Path(name).stem
    return "csv", "table"


# --------------------------------------------------------------------------- Markdown


_FENCE_RE = re.compile(r"(`{3,}|~{3,})")
_HEADING_RE = re.compile(r"(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_DELIMITER_CELL_RE = re.compile(r":?-+:?")
_PIPE_RE = re.compile(r"(?:^|[^\\])(?:\\\\)*\|")  # a pipe not escaped by a backslash


def _split_cells(line: str) -> list[str]:
    """Cells of one pipe-table line.

    As in GitHub's parser, a backslash and the character after it are one unit, so ``\\|`` is a
    pipe inside a cell and ``\\\\|`` is a backslash ending a cell. ``\\|`` and ``\\\\`` are
    unescaped (the inverse of structkit's own renderer); other backslashes are kept as written.
    Leading and trailing pipes are optional; cells are trimmed.
    """
    text = line.strip()
    cells: list[str] = []
    current: list[str] = []
    index = 1 if text.startswith("|") else 0
    closed = False
    while index < len(text):
        char = text[index]
        closed = False
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            current.append(following if following in "|\\" else char + following)
            index += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
            closed = True
        else:
            current.append(char)
        index += 1
    if not closed:
        cells.append("".join(current).strip())
    return cells


def _has_pipe(line: str) -> bool:
    return bool(_PIPE_RE.search(line))


def _is_delimiter_row(line: str) -> bool:
    if not _has_pipe(line):
        return False
    cells = _split_cells(line)
    return bool(cells) and all(_DELIMITER_CELL_RE.fullmatch(c) for c in cells)


def _heading(line: str) -> str | None:
    match = _HEADING_RE.fullmatch(line.strip())
    if match is None:
        return None
    return (match.group(2) or "").strip()


@dataclass
class _MdTable:
    title: str | None
    columns: list[str]
    rows: list[list[str]]


def _ends_table(line: str) -> bool:
    stripped = line.strip()
    return (
        not stripped
        or not _has_pipe(line)
        or _heading(line) is not None
        or bool(_FENCE_RE.match(stripped))
    )


def _read_md_table(
    lines: list[str], start: int, title: str | None, *, record_id: str, number: int
) -> tuple[_MdTable, int]:
    """Parse the table whose header is ``lines[start]``; returns it and the next line index."""
    columns = _split_cells(lines[start])
    delimiter = _split_cells(lines[start + 1])
    if len(delimiter) != len(columns):
        raise RecordParseError(
            f"table {number}: the header has {len(columns)} cells, the alignment row "
            f"{len(delimiter)}",
            record_id=record_id,
            where=f"line {start + 2}",
        )
    _check_columns(columns, record_id=record_id, where=f"line {start + 1}")
    rows: list[list[str]] = []
    index = start + 2
    while index < len(lines) and not _ends_table(lines[index]):
        cells = _split_cells(lines[index])
        if len(cells) != len(columns):
            raise RecordParseError(
                f"table {number}: a row has {len(cells)} cells, the header {len(columns)}",
                record_id=record_id,
                where=f"line {index + 1}",
            )
        rows.append(cells)
        index += 1
    if not rows:
        raise RecordParseError(
            f"table {number} has a header but no rows",
            record_id=record_id,
            where=f"line {start + 1}",
        )
    return _MdTable(title, columns, rows), index


def _md_tables(text: str, *, record_id: str) -> list[_MdTable]:
    lines = text.splitlines()
    tables: list[_MdTable] = []
    fence: str | None = None
    heading: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if fence is not None:  # inside a code block nothing is a table
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            index += 1
            continue
        if match := _FENCE_RE.match(stripped):
            fence = match.group(1)
        elif (found := _heading(line)) is not None:
            heading = found or heading
        elif _has_pipe(line) and index + 1 < len(lines) and _is_delimiter_row(lines[index + 1]):
            table, index = _read_md_table(
                lines, index, heading, record_id=record_id, number=len(tables) + 1
            )
            tables.append(table)
            continue
        elif stripped.startswith("|"):
            raise RecordParseError(
                "a table row without a header and alignment row",
                record_id=record_id,
                where=f"line {index + 1}",
            )
        index += 1
    return tables


def _unique_titles(titles: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    out: list[str] = []
    for title in titles:
        counts[title] = counts.get(title, 0) + 1
        out.append(title if counts[title] == 1 else f"{title} ({counts[title]})")
    return out


def read_markdown_table(
    text: str,
    *,
    record_id: str = "markdown",
    title: str | None = None,
    max_chars: int = MAX_BYTES,
) -> Record:
    """Parse the GitHub-style pipe tables in ``text``: one table section per table.

    A table is a header line, an alignment row (``|---|:--:|``, required) and body rows, up to a
    blank line, a line without a pipe, or a heading. Its title is the nearest heading above it,
    else ``title``, else "table" (repeats get " (2)", " (3)"). Tables inside code fences are
    ignored. Cells are trimmed; ``\\|`` is a pipe inside a cell; ``<br>`` is kept as written.

    Raises:
        RecordParseError: no table; a pipe row without header and alignment row; a header and
            alignment row of different widths; a row with too many or too few cells; duplicate
            column names; a table without rows.
        UnsafeInputError: text longer than ``max_chars``.
    """
    if len(text) > max_chars:
        raise UnsafeInputError(f"text is longer than {max_chars} characters", record_id=record_id)
    tables = _md_tables(text.removeprefix("\ufeff"), record_id=record_id)
    if not tables:
        raise RecordParseError("no Markdown pipe table found", record_id=record_id)
    titles = _unique_titles([t.title or title or "table" for t in tables])
    sections = [
        _section(name, table.columns, enumerate(table.rows, start=1))
        for name, table in zip(titles, tables, strict=True)
    ]
    return Record(record_id=record_id, kind=KIND, sections=sections)
