"""CSV lines, rows and the header: the csv module, with every problem named by its line."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from .._errors import InputError, RecordParseError, UnsafeInputError
from ._cells import _MAX_PREAMBLE_LINES


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
