"""Big CSV files as many records (one per row or per id group), lazily, with per-row errors."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO

from .._errors import ConfigurationError, InputError, RecordParseError
from ._cells import KIND, MAX_FIELD_CHARS, MAX_LINE_CHARS, _check_columns, _section
from ._csv_rows import _BadRow, _find_header, _parse_rows, _Row, _row_error
from ._dtypes import _bad_cells, _check_dtypes, _dtype_error
from ._ids import IdSet, content_id
from ._record import Record
from ._units import _check_units, _units_meta


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
        rid = content_id([row.raw])
        return rid, _row_error(row, record_id=rid)
    width = len(batch.columns)
    if len(row.fields) != width:
        # Field positions of a ragged row are unreliable, so its id is a content hash.
        rid = content_id(row.fields)
        problem = f"data row {n} has {len(row.fields)} fields, the header has {width}"
        return rid, RecordParseError(problem, record_id=rid, where=row.where)
    if batch.id_index is not None:
        rid = row.fields[batch.id_index]
        if not rid.strip():
            rid = content_id(row.fields)
            return rid, RecordParseError(
                f"data row {n} has an empty id", record_id=rid, where=row.where
            )
    else:
        rid = content_id(row.fields)
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
    record_id: str, rows: list[tuple[int, _Row]], batch: _Batch, seen: IdSet
) -> tuple[str, Record | InputError]:
    if not seen.add_new(record_id):
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
    seen = IdSet()
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
