"""The job: read lazily, skip what is done, run in chunks, write durably, export at the end."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from typing_extensions import Unpack

from .._errors import (
    ConfigurationError,
    InputError,
    StructkitError,
)
from .._progress import Progress
from .._settings import RunOptions, Settings
from .._task import Task, get_task
from ..adapters._load import is_dataframe
from ..adapters._record import Record

if TYPE_CHECKING:  # ray loads when a job runs on it, not with `import structkit`
    from ._ray import RayPlan

from ._chunks import _dry_line, _Job, _named_engine, _prepare_dry_run, _run_chunk
from ._common import _MAX_CHUNK_FACTOR, BatchSummary, IdAdmission, Item
from ._export import _check_export, export_results
from ._output import _scan_output, _Writer
from ._sources import _load_file, _open_source


def _progress_stream(progress: bool | TextIO | None) -> TextIO | None:
    if progress is None or progress is True:
        return sys.stderr
    return None if progress is False else progress


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
    executor: str = "local",
    ray_address: str | None = None,
    ray_actors: int | None = None,
    ray_cpus_per_actor: float = 1.0,
    ray_gpus_per_actor: float = 0.0,
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
        executor: ``"local"`` (this process) or ``"ray"``: the records are read with Ray Data
            and run by a pool of actors, each holding one engine (needs ``structkit[ray]``;
            files only, not a DataFrame; the engine given by name, not as an object). Same
            output lines, ids, errors and resume rule.
        ray_address: the Ray cluster to join (``host:port``); None: ``ray.init()``'s default
            (``RAY_ADDRESS``, a cluster already joined, or a new one on this machine).
        ray_actors: engine actors in the pool (default: the cluster's CPUs divided by
            ``ray_cpus_per_actor``).
        ray_cpus_per_actor: CPUs each actor reserves; also llama.cpp's threads per actor.
        ray_gpus_per_actor: GPUs each actor reserves (1 for a vLLM engine per GPU).
        **options: :class:`RunOptions` (``engine``, ``model``, ``format``, ``samples``, ...).

    Raises:
        ConfigurationError: bad options, an unknown source type, a missing column, an output
            file that is not a batch output.
        InputError: the source as a whole cannot be read (e.g. a CSV without a header).
    """
    started = time.monotonic()
    settings = Settings.from_options(options)
    if batch_size < 1:
        raise ConfigurationError("batch_size must be at least 1")
    _check_export(export)
    engine = options.get("engine")
    plan = _ray_plan(executor, source, engine, dry_run)
    if plan is not None:
        plan = replace(
            plan,
            address=ray_address,
            actors=ray_actors,
            cpus_per_actor=ray_cpus_per_actor,
            gpus_per_actor=ray_gpus_per_actor,
        )
        plan.check()
    elif ray_address is not None or ray_actors is not None:
        raise ConfigurationError("ray_address and ray_actors need executor='ray'")
    job = _Job(
        task=get_task(task) if isinstance(task, str) else task,
        engine=_named_engine(engine, options.get("model")) if plan is None else None,
        model=options.get("model"),
        settings=settings,
        source=None if is_dataframe(source) else str(Path(source).resolve()),
    )
    out = Path(output)
    finished, failed = _scan_output(out, dry_run=dry_run)
    if dry_run:
        _prepare_dry_run(job, count_tokens)
    skip = {out.resolve()} | (
        {Path(export).resolve()} if export not in (None, "dataframe") else set()
    )
    stream = _progress_stream(progress)
    if plan is not None:
        from ._ray import run_on_ray

        counts = {"ok": 0, "failed": 0, "skipped": 0, "failed_earlier": 0}
        bar = Progress(stream, total=None, label=f"structkit batch {job.task.name} (ray)")
        out.parent.mkdir(parents=True, exist_ok=True)
        writer = _Writer(out)
        try:
            run_on_ray(
                task=task,
                engine=engine if isinstance(engine, str) else None,  # _ray_plan refused objects
                model=job.model,
                settings=settings,
                source=Path(source),
                skip=skip,
                id_column=id_column,
                group_by=group_by,
                finished=finished,
                failed=failed,
                retry_failed=retry_failed,
                batch_size=batch_size,
                plan=plan,
                writer=writer,
                bar=bar,
                counts=counts,
            )
        finally:
            writer.close()
            bar.close()
        return _summary(counts, started, out, export)
    # a default engine is chosen by the job's size (engines/_select.py), so count then too
    counted = stream is not None or (job.engine is None and not dry_run)
    items, total = _open_source(
        source, id_column=id_column, group_by=group_by, skip=skip, count=counted
    )
    if total is not None:
        job.records = max(total - len(finished), 0)
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

    admission = IdAdmission(finished, failed, retry_failed=retry_failed)
    try:
        while (pair := _next(items, flush)) is not None:
            out_id, item, done = admission.admit(*pair)
            if done is not None:
                counts["skipped"] += 1
                counts["failed_earlier"] += done == "failed"
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
    return _summary(counts, started, out, export)


def _summary(
    counts: dict[str, int], started: float, out: Path, export: str | os.PathLike[str] | None
) -> BatchSummary:
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


def _ray_plan(executor: str, source: Any, engine: Any, dry_run: bool) -> RayPlan | None:
    """A Ray job's plan once the job is known to be one Ray can run; None for the local one."""
    if executor == "local":
        return None
    if executor != "ray":
        raise ConfigurationError(f"unknown executor {executor!r}; one of local, ray")
    if dry_run:
        raise ConfigurationError("a dry run needs no engine: run it with executor='local'")
    if is_dataframe(source):
        raise ConfigurationError(
            "the Ray executor reads files, not a DataFrame: save it with df.to_parquet(...) "
            "and give that file"
        )
    if engine is not None and not isinstance(engine, str):
        raise ConfigurationError(
            "the Ray executor starts an engine in every actor: give the engine by name "
            "('llama.cpp', 'vllm') or a shared server with STRUCTKIT_SERVER_URL, not an object"
        )
    from ._ray import RayPlan, require_ray

    require_ray()
    return RayPlan()


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
