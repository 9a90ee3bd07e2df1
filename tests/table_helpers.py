"""Helpers shared by the table adapter tests (CSV, Markdown, CSV batches)."""

from __future__ import annotations

import csv
from pathlib import Path

from structkit.adapters import Record, Section
from structkit.adapters._table import cell_pointer, parse_pointer


def cell(record: Record, row: int, column: str, section: int = 0) -> str:
    """The text at ``row=<row>;col=<column>`` (looked up by pointer, not by position)."""
    wanted = cell_pointer(row, column)
    matches = [v.text for v in record.sections[section].all_values() if v.pointer == wanted]
    assert len(matches) == 1, (wanted, matches)
    return matches[0]


def source_rows(path: Path, *, skip: int = 0) -> tuple[list[str], list[list[str]]]:
    """Header and non-blank data rows of a CSV, read independently with the csv module."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.reader(handle) if r][skip:]
    return rows[0], rows[1:]


def assert_pointers_lead_back(record: Record, path: Path, *, skip: int = 0) -> None:
    """Round trip: every value's pointer finds exactly that text in the source file."""
    header, rows = source_rows(path, skip=skip)
    count = 0
    for value in record.values():
        n, column = parse_pointer(value.pointer)
        assert value.key == column
        assert rows[n - 1][header.index(column)] == value.text
        count += 1
    assert count == len(rows) * len(header)  # nothing lost, nothing invented


def as_grid(section: Section) -> list[list[str]]:
    return [[c.text for c in row] for row in section.rows]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path
