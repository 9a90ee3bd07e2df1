"""The job: read lazily, skip what is done, run in chunks, write durably, export at the end."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from typing_extensions import Unpack

from .._api import RunOptions
from .._errors import (
    ConfigurationError,
    DuplicateIdError,
    InputError,
    RecordParseError,
    StructkitError,
)
from .._progress import Progress
from .._task import Task, get_task
from ..adapters._ids import IdSet, id_digest
from ..adapters._load import _is_dataframe, load
from ..adapters._record import Record
from ..adapters._render import FORMATS

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    pass

from ._chunks import _dry_line, _Job, _named_engine, _prepare_dry_run, _run_chunk
from ._common import _MAX_CHUNK_FACTOR, BatchSummary, Item
from ._export import _check_export, export_results
from ._output import _scan_output, _Writer
from ._sources import _open_source


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
        engine=_named_engine(settings.pop("engine", None), settings.get("model")),
        model=settings.pop("model", None),
        settings=settings,
        source=None if _is_dataframe(source) else str(Path(source).resolve()),
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

    seen, repeats = IdSet(), dict[str, int]()
    try:
        while (pair := _next(items, flush)) is not None:
            rid, item = pair
            out_id, digest = rid, id_digest(rid)
            if digest in seen:  # the first record with an id is processed, later ones are not
                while digest in seen:
                    repeats[rid] = repeats.get(rid, 1) + 1
                    out_id = f"{rid}#dup{repeats[rid]}"
                    digest = id_digest(out_id)
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
