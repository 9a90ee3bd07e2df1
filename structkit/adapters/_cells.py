"""Table cells: pointers (``row=<n>;col=<name>``) and the shared table limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .._errors import ConfigurationError, RecordParseError
from ._record import Section, Value

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
        raise ConfigurationError(f"not a table pointer: {pointer!r}")
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
