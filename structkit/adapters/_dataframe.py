"""pandas DataFrames to and from table records; cells keep their exact text."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from .._errors import RecordParseError
from ._cells import KIND, _check_columns, _section, cell_pointer, parse_pointer
from ._record import Record, Section, Value
from ._units import _check_units


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
