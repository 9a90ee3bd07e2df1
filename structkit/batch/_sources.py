"""Where a batch job's records come from: CSV, JSON Lines, a folder or a DataFrame, read lazily."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import (
    ConfigurationError,
    InputError,
    RecordParseError,
)
from .._progress import count_lines
from ..adapters._ids import content_id
from ..adapters._json import iter_jsonl
from ..adapters._load import is_dataframe, load
from ..adapters._record import Record, Section, Value

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    import pandas as pd

from ._common import _CSV_SUFFIXES, _JSONL_SUFFIXES, _PARQUET_SUFFIXES, DIR_SUFFIXES, Item


def _iter_dir(root: Path, skip: set[Path]) -> tuple[Iterator[tuple[str, Item]], int]:
    paths = sorted(
        (p.relative_to(root).as_posix(), p)
        for p in root.rglob("*")
        if p.suffix.lower() in DIR_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.is_file()
        and p.resolve() not in skip
    )
    return iter(paths), len(paths)


def _frame_row(df: pd.DataFrame, i: int, id_column: str | None) -> tuple[str, Record | InputError]:
    from ..adapters._table import cell_pointer, from_dataframe

    try:
        record = from_dataframe(df.iloc[i : i + 1], record_id=f"#{i + 1}")
    except InputError as exc:
        return content_id([repr(v) for v in df.iloc[i].tolist()]), exc
    section = record.sections[0]
    cells = [value.text for value in section.rows[0]]
    if id_column is not None and id_column not in section.columns:
        raise ConfigurationError(f"id_column {id_column!r} is not a column of the DataFrame")
    rid = cells[section.columns.index(id_column)] if id_column else content_id(cells)
    if not rid.strip():
        rid = content_id(cells)
        return rid, RecordParseError(f"data row {i + 1} has an empty id", record_id=rid)
    row = [
        Value(key=v.key, text=v.text, pointer=cell_pointer(i + 1, v.key)) for v in section.rows[0]
    ]
    record.sections = [Section(title=section.title, columns=section.columns, rows=[row])]
    record.record_id = rid
    return rid, record


def _open_source(
    source: Any, *, id_column: str | None, group_by: str | None, skip: set[Path], count: bool
) -> tuple[Iterator[tuple[str, Item]], int | None]:
    """The (id, item) stream of a source and an estimate of its length (when ``count``)."""
    if is_dataframe(source):
        if group_by is not None:
            raise ConfigurationError("group_by applies to CSV files only")
        frame = source
        return (_frame_row(frame, i, id_column) for i in range(len(frame))), len(frame)
    path = Path(source)
    if not path.exists():
        raise ConfigurationError(f"no such input file or folder: {path}")
    suffix = path.suffix.lower()
    if group_by is not None and (path.is_dir() or suffix not in _CSV_SUFFIXES):
        raise ConfigurationError("group_by applies to CSV files only")
    single = suffix in DIR_SUFFIXES and suffix not in _CSV_SUFFIXES
    if (path.is_dir() or single) and id_column is not None:
        raise ConfigurationError("id_column applies to CSV, JSONL and DataFrame sources")
    if path.is_dir():
        return _iter_dir(path, skip)
    if single:  # one .json/.xml/.md/.txt file: one record
        return iter([(path.name, path)]), 1
    if suffix in _CSV_SUFFIXES:
        from ..adapters._table import iter_csv_records

        rows = iter_csv_records(
            path,
            id_column=id_column,
            group_by=group_by,
            chunk_rows=1000,
            delimiter="\t" if suffix == ".tsv" else ",",
        )
        total = count_lines(path) - 1 if count and group_by is None else None
        return ((rid, item) for rid, item in rows), total
    if suffix in _JSONL_SUFFIXES:
        lines = iter_jsonl(path, id_field=id_column)
        return ((rid, item) for rid, item in lines), count_lines(path) if count else None
    if suffix in _PARQUET_SUFFIXES:  # a record per row, as for a DataFrame
        frame = _read_parquet(path)
        return (_frame_row(frame, i, id_column) for i in range(len(frame))), len(frame)
    raise ConfigurationError(
        f"cannot read {path.name} as a batch source: give a CSV, JSON Lines or Parquet file, a "
        "folder of .json/.xml/.csv/.md/.txt files, or a DataFrame"
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise ConfigurationError("reading .parquet needs pyarrow (pip install pyarrow)")
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        problem = f"{path.name} is not a readable Parquet file ({type(exc).__name__})"
        raise InputError(problem) from None


def _load_file(path: Path, rid: str) -> Record | InputError:
    try:
        return load(path, record_id=rid)
    except InputError as exc:
        return exc
    except (OSError, ValueError) as exc:  # e.g. undecodable text: this file fails, not the job
        return RecordParseError(f"cannot read the file ({type(exc).__name__})", record_id=rid)
