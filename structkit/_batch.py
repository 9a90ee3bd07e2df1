"""Batch jobs: a task over a big CSV, JSON Lines file, folder or DataFrame, durably and resumably.

The output is JSON Lines, one line per input record::

    {"id": "...", "status": "ok" | "error", "result": {...} | null,
     "error": {"type": "...", "message": "..."} | null, "attempts": n}

Input is streamed and sent to the engine ``batch_size`` records at a time. Every line is one
``write()`` of a complete line and each chunk ends with ``fsync``, so a crash leaves at most a
partial *last* line. A rerun drops that partial line, skips every id that already has a line
(``ok`` and ``error`` both count as finished; ``retry_failed=True`` redoes the errors) and
appends the rest. A retried id then has more than one line: **the last line per id wins**
(:func:`read_results` applies that rule). Only a problem with the job itself (a bad option, an
unreadable file) stops it: a broken row, a duplicate id, an invalid answer or an engine failure
for one chunk becomes an ``error`` line and the job goes on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from typing_extensions import Unpack

from ._api import RunOptions, _engine
from ._ask import CHAT_MARKUP_TOKENS
from ._errors import (
    ConfigurationError,
    EngineRequestError,
    InputError,
    ModelError,
    RecordParseError,
    StructkitError,
)
from ._profiles import DEFAULT_MODEL, profile_for
from ._progress import Progress, count_lines
from ._runner import run_task
from ._sampling import answer_budget
from ._task import Task, get_task
from .adapters._json import iter_jsonl
from .adapters._load import _is_dataframe, load
from .adapters._record import Record, Section, Value
from .adapters._render import FORMATS, fit_to_budget, render
from .engines._base import Engine

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    import pandas as pd

__all__ = ["BatchSummary", "DuplicateIdError", "read_results", "run_batch"]

log = logging.getLogger(__name__)

#: File types read from a folder source (one record per file, id = path relative to the folder).
DIR_SUFFIXES = (".json", ".xml", ".csv", ".md", ".txt")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv", ".tsv")
#: A chunk also closes after this many lines per engine-bound record (a run of broken rows).
_MAX_CHUNK_FACTOR = 8

Item = Record | InputError | Path  # a Path is loaded only if its id is not skipped
Line = dict[str, Any]


class DuplicateIdError(InputError):
    """An earlier record of the same job has this id; the later one gets ``<id>#dup<n>``."""


@dataclass
class BatchSummary:
    """What a batch run did. ``ok``/``failed`` count lines written by this run."""

    ok: int
    failed: int
    skipped: int
    """Ids already finished in the output (not redone)."""
    total: int
    seconds: float
    output: Path
    failed_earlier: int = 0
    """Skipped ids whose line is an ``error`` (redo them with ``retry_failed=True``)."""
    dataframe: pd.DataFrame | None = None
    """The flattened results, with ``export="dataframe"``."""

    @property
    def records_per_second(self) -> float:
        """Records worked on (not skipped) per second."""
        return (self.ok + self.failed) / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- ids


def _digest(record_id: str) -> bytes:
    return hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class _IdSet:
    """A set of 16-byte id digests in ~16 bytes each: recent ones in a set, the rest sorted.

    The recent set is merged into the sorted array when it reaches ``_FLUSH`` entries or 1/32 of
    the array, so it costs at most ~20% on top of the array (a Python set is ~100 B an entry).
    """

    _FLUSH = 8192

    def __init__(self) -> None:
        import numpy as np

        self._sorted = np.empty(0, dtype="S16")
        self._recent: set[bytes] = set()

    def __contains__(self, digest: bytes) -> bool:
        if digest in self._recent:
            return True
        if not len(self._sorted):
            return False
        i = int(self._sorted.searchsorted(digest))
        # numpy strips trailing NULs when handing an S16 element back: pad before comparing.
        return i < len(self._sorted) and bytes(self._sorted[i]).ljust(16, b"\0") == digest

    def add(self, digest: bytes) -> None:
        self._recent.add(digest)
        if len(self._recent) >= max(self._FLUSH, len(self._sorted) >> 5):
            import numpy as np

            new = np.sort(np.array(list(self._recent), dtype="S16"))
            self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, new), new)
            self._recent = set()


# --------------------------------------------------------------------------- the output file


def _encode(line: Line) -> bytes:
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (undecodable input bytes): escape it
        return (json.dumps(line, separators=(",", ":")) + "\n").encode("ascii")


def _error(exc: StructkitError) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _scan_output(path: Path, *, dry_run: bool) -> tuple[_IdSet, set[bytes]]:
    """Finished ids, and ids whose last line is an error; drops a partial last line.

    A dry run starts its output afresh, but never over real results.
    """
    finished, failed = _IdSet(), set[bytes]()
    if path.is_dir():
        raise ConfigurationError(f"the output {path.name!r} is a folder; give a file")
    if not path.exists():
        return finished, failed
    end, statuses = 0, set()
    with open(path, "r+b") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                break  # the partial last line of a crashed run
            end += len(raw)
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                rid, status = line["id"], line["status"]
                if not isinstance(rid, str) or status not in ("ok", "error", "dry-run"):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise ConfigurationError(
                    f"{path.name} line {number} is not a batch output line; the file is not a "
                    "structkit batch output, or was edited: fix or remove that line"
                ) from None
            statuses.add(status)
            digest = _digest(rid)
            if digest not in finished:  # a retried id has several lines
                finished.add(digest)
            if status == "error":
                failed.add(digest)
            else:
                failed.discard(digest)
        if dry_run and statuses - {"dry-run"}:
            raise ConfigurationError(f"{path.name} holds results; give a dry run another file")
        if not dry_run and "dry-run" in statuses:
            raise ConfigurationError(f"{path.name} holds a dry run; give the job another file")
        if dry_run or end < handle.seek(0, os.SEEK_END):
            handle.truncate(0 if dry_run else end)
            os.fsync(handle.fileno())
    return (_IdSet(), set()) if dry_run else (finished, failed)


class _Writer:
    """Appends complete lines, each in one ``write()``; ``sync`` makes them durable."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, line: Line) -> None:
        data = memoryview(_encode(line))
        while data:  # a regular file takes the whole line; loop only for the odd short write
            data = data[os.write(self._fd, data) :]

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


# --------------------------------------------------------------------------- sources


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
    from .adapters._table import _content_id, cell_pointer, from_dataframe

    try:
        record = from_dataframe(df.iloc[i : i + 1], record_id=f"#{i + 1}")
    except InputError as exc:
        return _content_id([repr(v) for v in df.iloc[i].tolist()]), exc
    section = record.sections[0]
    cells = [value.text for value in section.rows[0]]
    if id_column is not None and id_column not in section.columns:
        raise ConfigurationError(f"id_column {id_column!r} is not a column of the DataFrame")
    rid = cells[section.columns.index(id_column)] if id_column else _content_id(cells)
    if not rid.strip():
        rid = _content_id(cells)
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
    if _is_dataframe(source):
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
        from .adapters._table import iter_csv_records

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
    raise ConfigurationError(
        f"cannot read {path.name} as a batch source: give a CSV or JSON Lines file, a folder "
        "of .json/.xml/.csv/.md/.txt files, or a DataFrame"
    )


# --------------------------------------------------------------------------- chunks


@dataclass
class _Job:
    task: Task[Any]
    settings: dict[str, Any]  # run_task's options
    engine: Engine | None
    model: Any
    dry_count: Callable[[str], int] | None = None
    dry_template: int = 0  # tokens of the prompt around the record
    dry_budget: int | None = None

    def get_engine(self) -> Engine:
        if self.engine is None:  # started on the first chunk that needs it, never on a no-op
            self.engine = _engine(None, self.model)
        return self.engine


def _line(rid: str, error: StructkitError | None, value: Any = None, attempts: int = 0) -> Line:
    result = value.model_dump(mode="json") if value is not None else None
    status, problem = ("ok", None) if error is None else ("error", _error(error))
    return {"id": rid, "status": status, "result": result, "error": problem, "attempts": attempts}


def _run_chunk(job: _Job, chunk: list[tuple[str, Record | InputError]]) -> list[Line]:
    lines: list[Line | None] = [
        _line(rid, item) if isinstance(item, InputError) else None for rid, item in chunk
    ]
    todo = [(i, rid, item) for i, (rid, item) in enumerate(chunk) if isinstance(item, Record)]
    if todo:
        try:
            outcomes = run_task(
                job.task,
                [item for _, _, item in todo],
                engine=job.get_engine(),
                record_ids=[rid for _, rid, _ in todo],
                **job.settings,
            )
            for (i, rid, _), outcome in zip(todo, outcomes, strict=True):
                lines[i] = _line(rid, outcome.error, outcome.value, outcome.attempts)
        except (ConfigurationError, ModelError):
            raise  # the job itself is wrong; every chunk would fail the same way
        except Exception as exc:  # the engine failed this chunk: its rows fail, the job goes on
            log.warning(
                "the engine failed for a chunk of %d records: %s", len(todo), type(exc).__name__
            )
            for i, rid, _ in todo:
                problem = f"the engine failed for this record's chunk ({type(exc).__name__})"
                lines[i] = _line(rid, EngineRequestError(problem, record_id=rid), attempts=1)
    return [line for line in lines if line is not None]


def _dry_line(job: _Job, rid: str, item: Record | InputError) -> Line:
    """Prompt tokens of one record, counted as the token budget counts them: the template's
    tokens (computed once) plus the rendered record's, per part of a split record."""
    assert job.dry_count is not None
    line: Line = {"id": rid, "status": "dry-run", "prompt_tokens": None}
    if isinstance(item, InputError):
        return {**line, "error": _error(item)}
    fmt = job.settings.get("format") or job.task.format
    try:
        if job.dry_budget is None:
            pieces = [(item, render(item, format=fmt))]
        else:
            pieces = fit_to_budget(
                item,
                budget=job.dry_budget,
                count_tokens=job.dry_count,
                format=fmt,
                policy=job.task.overflow,
            )
    except InputError as exc:
        return {**line, "error": _error(exc)}
    tokens = sum(job.dry_template + job.dry_count(text) for _, text in pieces)
    return {**line, "prompt_tokens": tokens}


def _prepare_dry_run(job: _Job, count_tokens: Callable[[str], int] | None) -> None:
    """Token counter, template size and record budget of a dry run, as a real run has them."""
    if job.engine is not None:
        profile = job.engine.profile
        counter = count_tokens or job.engine.count_tokens
    else:
        profile = profile_for(str(job.model or os.environ.get("STRUCTKIT_MODEL", DEFAULT_MODEL)))
        if count_tokens is None:
            from ._tokens import token_counter  # loads the tokenizer, never the engine

            counter = token_counter(job.model)
        else:
            counter = count_tokens
    job.dry_count = counter
    job.dry_template = counter(job.task.prompt("", profile=profile)[0]["content"])
    if count_tokens is None:  # a custom counter (e.g. characters) cannot check a token budget
        task, max_tokens = job.task, job.settings.get("max_tokens")
        answer = answer_budget(profile, requested=max_tokens, task_budget=task.max_tokens)
        overhead = job.dry_template + CHAT_MARKUP_TOKENS
        job.dry_budget = profile.max_model_len - answer - overhead


# --------------------------------------------------------------------------- the job


def _progress_stream(progress: bool | TextIO | None) -> TextIO | None:
    if progress is None or progress is True:
        return sys.stderr
    return None if progress is False else progress


def _check_options(options: dict[str, Any], batch_size: int) -> None:
    unknown = set(options) - set(RunOptions.__annotations__)
    if unknown:
        raise ConfigurationError(f"unknown option(s): {', '.join(sorted(unknown))}")
    if batch_size < 1:
        raise ConfigurationError("batch_size must be at least 1")
    for name in ("samples", "max_attempts"):
        if options.get(name, 1) < 1:
            raise ConfigurationError(f"{name} must be at least 1")
    if options.get("format") not in (None, *FORMATS):
        raise ConfigurationError(f"unknown format {options['format']!r}; one of {FORMATS}")


def run_batch(
    task: str | Task[Any],
    source: Any,
    output: str | os.PathLike[str],
    *,
    id_column: str | None = None,
    group_by: str | None = None,
    batch_size: int = 32,
    export: str | os.PathLike[str] | None = None,
    progress: bool | TextIO | None = None,
    dry_run: bool = False,
    retry_failed: bool = False,
    count_tokens: Callable[[str], int] | None = None,
    **options: Unpack[RunOptions],
) -> BatchSummary:
    """Run ``task`` over every record of ``source``, writing one JSON line per record.

    Resumable: ids already in ``output`` are skipped (see the module docs); rerunning a finished
    job does nothing and never starts the engine.

    Args:
        task: a registered task name or a :class:`Task`.
        source: a CSV file (a record per row, or per run of rows sharing ``group_by``), a JSON
            Lines file, a folder of .json/.xml/.csv/.md/.txt files (id: the relative path), or a
            pandas DataFrame (a record per row).
        output: the JSON Lines file to write or resume.
        id_column: the column (JSONL: the top-level key) holding each record's id; default: a
            hash of the row's cells (CSV, DataFrame) or ``<file>:<line>`` (JSONL).
        group_by: CSV only: consecutive rows with the same value here form one record.
        batch_size: records per engine call (and per ``fsync``).
        export: also write the final results, flattened, to a ``.csv`` or ``.parquet`` file, or
            ``"dataframe"`` to get them as ``BatchSummary.dataframe``.
        progress: ``None``/``True``: a progress bar on stderr (log lines when it is not a
            terminal); ``False``: silent; or a text stream to draw on.
        dry_run: read and render every record and count its prompt tokens, without the engine:
            lines ``{"id", "status": "dry-run", "prompt_tokens"}``, into a fresh output file.
        retry_failed: redo ids whose last line is an error.
        count_tokens: dry runs: the token counter (default: the model's tokenizer, which also
            checks each record against the token budget); ``len`` counts characters, cheaply.
        **options: :class:`RunOptions` (``engine``, ``model``, ``format``, ``samples``, ...).

    Raises:
        ConfigurationError: bad options, an unknown source type, a missing column, an output
            file that is not a batch output.
        InputError: the source as a whole cannot be read (e.g. a CSV without a header).
    """
    started = time.monotonic()
    settings: dict[str, Any] = dict(options)
    _check_options(settings, batch_size)
    _check_export(export)
    job = _Job(
        task=get_task(task) if isinstance(task, str) else task,
        engine=settings.pop("engine", None),
        model=settings.pop("model", None),
        settings=settings,
    )
    out = Path(output)
    finished, failed = _scan_output(out, dry_run=dry_run)
    if dry_run:
        _prepare_dry_run(job, count_tokens)
    skip = {out.resolve()} | (
        {Path(export).resolve()} if export not in (None, "dataframe") else set()
    )
    stream = _progress_stream(progress)
    items, total = _open_source(
        source, id_column=id_column, group_by=group_by, skip=skip, count=stream is not None
    )
    bar = Progress(stream, total=total, label=f"structkit batch {job.task.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out)
    counts = {"ok": 0, "failed": 0, "skipped": 0, "failed_earlier": 0}
    chunk: list[tuple[str, Record | InputError]] = []
    engine_bound = 0

    def flush() -> None:
        nonlocal engine_bound
        if not chunk:
            return
        if dry_run:
            lines = [_dry_line(job, rid, item) for rid, item in chunk]
        else:
            lines = _run_chunk(job, chunk)
        for line in lines:
            writer.write(line)
        writer.sync()
        bad = sum(line["status"] == "error" or bool(line.get("error")) for line in lines)
        counts["ok"] += len(lines) - bad
        counts["failed"] += bad
        bar.update(ok=len(lines) - bad, failed=bad)
        chunk.clear()
        engine_bound = 0

    seen, repeats = _IdSet(), dict[str, int]()
    try:
        while (pair := _next(items, flush)) is not None:
            rid, item = pair
            out_id, digest = rid, _digest(rid)
            if digest in seen:  # the first record with an id is processed, later ones are not
                while digest in seen:
                    repeats[rid] = repeats.get(rid, 1) + 1
                    out_id = f"{rid}#dup{repeats[rid]}"
                    digest = _digest(out_id)
                item = DuplicateIdError("an earlier record has the same id", record_id=rid)
            seen.add(digest)
            if digest in finished and not (retry_failed and digest in failed):
                counts["skipped"] += 1
                counts["failed_earlier"] += digest in failed
                bar.update(skipped=1)
                continue
            if isinstance(item, Path):
                item = _load_file(item, out_id)
            chunk.append((out_id, item))
            engine_bound += isinstance(item, Record)
            if engine_bound >= batch_size or len(chunk) >= _MAX_CHUNK_FACTOR * batch_size:
                flush()
        flush()
    finally:
        writer.close()
        bar.close()
    summary = BatchSummary(
        ok=counts["ok"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        total=counts["ok"] + counts["failed"] + counts["skipped"],
        seconds=time.monotonic() - started,
        output=out,
        failed_earlier=counts["failed_earlier"],
    )
    if export is not None:
        summary.dataframe = export_results(out, export)
    return summary


def _next(items: Iterator[tuple[str, Item]], flush: Callable[[], None]) -> tuple[str, Item] | None:
    """The next input, or None at the end. If the source as a whole breaks off (an overlong
    CSV line, undecodable JSON Lines), the records read so far are finished first."""
    try:
        return next(items)
    except StopIteration:
        return None
    except StructkitError:
        flush()
        raise
    except (UnicodeDecodeError, OSError) as exc:
        flush()
        problem = "is not UTF-8 text" if isinstance(exc, UnicodeError) else "cannot be read"
        raise InputError(f"the input {problem} past this point ({type(exc).__name__})") from None


def _load_file(path: Path, rid: str) -> Record | InputError:
    try:
        return load(path, record_id=rid)
    except InputError as exc:
        return exc
    except (OSError, ValueError) as exc:  # e.g. undecodable text: this file fails, not the job
        return RecordParseError(f"cannot read the file ({type(exc).__name__})", record_id=rid)


# --------------------------------------------------------------------------- results, exports


def read_results(output: str | os.PathLike[str]) -> dict[str, Line]:
    """The final line per id of a batch output (the last line per id wins), in first-seen order.

    A partial last line (a crashed run) is ignored.
    """
    results: dict[str, Line] = {}
    with open(output, "rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n") and raw.strip():
                line = json.loads(raw)
                results[line["id"]] = line
    return results


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _flatten(child, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, dict)):
        out[prefix] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        out[prefix] = value
    return out


def results_frame(output: str | os.PathLike[str]) -> pd.DataFrame:
    """The final results as a DataFrame of one row per id: nested fields become dotted columns
    (``result.summary``, ``error.type``), lists JSON text."""
    rows = [
        _flatten({k: v for k, v in line.items() if v is not None}, "", {})
        for line in read_results(output).values()
    ]
    import pandas as pd

    frame = pd.DataFrame(rows, dtype=object)
    head = [c for c in _HEAD if c in frame.columns]
    return frame[head + [c for c in frame.columns if c not in head]]


_HEAD = ("id", "status", "attempts", "prompt_tokens", "error.type", "error.message")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Cells starting with these are formulas to spreadsheet programs (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _is_number(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and _NUMBER.fullmatch(value) is not None


def _safe_text(value: Any) -> Any:
    if _missing(value):
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a spreadsheet formula: ``=1+1`` becomes ``'=1+1``.

    A column whose values all read as numbers stays as it is (``-5`` stays ``-5``); in every
    other column each value is text, and one starting with ``= + - @``, a tab or CR gets a ``'``.
    """
    import pandas as pd

    safe = frame.copy()
    for column in safe.columns:
        values = [v for v in safe[column].tolist() if not _missing(v)]
        if not all(_is_number(v) for v in values):
            safe[column] = safe[column].map(_safe_text)
    safe.columns = pd.Index([_safe_text(str(c)) for c in safe.columns])
    return safe


def _check_export(export: str | os.PathLike[str] | None) -> None:
    """Refuse an export target before the job runs rather than after it."""
    if export is None or export == "dataframe":
        return
    suffix = Path(export).suffix.lower()
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ConfigurationError(
            "exporting to .parquet needs pyarrow (pip install pyarrow); or export to .csv"
        )
    if suffix not in (".csv", ".parquet"):
        raise ConfigurationError(f"cannot export to {Path(export).name!r}: use .csv or .parquet")


def export_results(
    output: str | os.PathLike[str], export: str | os.PathLike[str]
) -> pd.DataFrame | None:
    """Write the final results of ``output`` to a .csv/.parquet file atomically (temp file +
    ``os.replace``), or return them with ``export="dataframe"``."""
    frame = results_frame(output)
    if export == "dataframe":
        return frame.convert_dtypes()
    target = Path(export)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if target.suffix.lower() == ".csv":
            neutralize_formulas(frame).to_csv(tmp, index=False)
        else:  # parquet wants one type per column: a column mixing types becomes text
            typed = frame.convert_dtypes()
            for column in typed.select_dtypes(include="object").columns:
                typed[column] = typed[column].map(lambda v: None if _missing(v) else str(v))
            typed.to_parquet(tmp, index=False)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return None
