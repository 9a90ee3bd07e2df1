"""Markdown pipe tables: cells escaped so a pipe or a newline cannot forge rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._errors import RecordParseError, UnsafeInputError
from ._cells import KIND, MAX_BYTES, _check_columns, _section
from ._record import Record

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
