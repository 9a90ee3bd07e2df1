"""Column types of CSV text (int, float, date, str), checked cell by cell without converting."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from .._errors import ConfigurationError, RecordParseError
from ._cells import DTYPES, cell_pointer, parse_pointer

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
