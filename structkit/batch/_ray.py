"""Batch jobs on Ray Data: the same job, its records spread over a pool of engine actors.

The only module that imports ``ray`` (lazily: it is the optional extra ``structkit[ray]``).

How a job runs:

1. The driver scans the output as the local executor does (finished ids, a partial last line).
2. ``ray.data.read_binary_files`` reads the input files on the cluster: the one CSV, JSON Lines
   or Parquet file, or every file of a folder. Each file is parsed where it was read, by the
   local executor's readers and its :class:`IdAdmission`, so ids, records, cell pointers,
   duplicate-id and broken-row errors are exactly the local ones (``ray.data.read_csv`` would
   type the cells and lose row numbers, which are part of ids and grounding pointers).
   Finished ids are dropped there and then.
3. The rows are cut into blocks of ``batch_size`` and mapped by a fixed pool of actors
   (``ActorPoolStrategy``); each actor holds one engine (chosen as locally: llama.cpp or vLLM,
   or a client of the server that ``STRUCTKIT_SERVER_URL`` names, shared by every actor) and
   runs a block through :func:`_run_chunk`, the local executor's per-row code.
4. The driver writes the lines as blocks come back, each block fsynced, so resume keeps its
   meaning. Ray Data restarts a dead actor and retries its block (``max_restarts=-1``,
   ``max_task_retries=-1``); a block's output reaches the driver once, and the driver also
   writes each id at most once per run.
"""

from __future__ import annotations

import json
import math
import pickle
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import ENVIRONMENT, env
from .._errors import ConfigurationError, MissingExtraError, StructkitError
from .._progress import Progress
from .._settings import Settings
from .._task import Task, get_task
from ..adapters._ids import IdSet, id_digest
from ..adapters._record import Record
from ._chunks import _Job, _line, _named_engine, _run_chunk
from ._common import _CSV_SUFFIXES, _JSONL_SUFFIXES, _PARQUET_SUFFIXES, IdAdmission, Line
from ._output import _encode, _Writer
from ._sources import _iter_dir

if TYPE_CHECKING:
    import numpy as np

#: Sent to the actors only from the nodes' own environment, never through Ray's job metadata.
_SECRETS = frozenset({"STRUCTKIT_API_KEY", "OPENAI_API_KEY"})
_SOURCE_SUFFIXES = _CSV_SUFFIXES + _JSONL_SUFFIXES + _PARQUET_SUFFIXES


def require_ray() -> Any:
    """The ``ray`` module, or a :class:`MissingExtraError` that says how to install it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtraError(
            "executor='ray' needs Ray Data: pip install 'structkit[ray]' (or 'ray[data]')"
        ) from None
    return ray


@dataclass(frozen=True)
class RayPlan:
    """Where and how wide a Ray job runs."""

    address: str | None = None
    """A running cluster (``host:port`` or ``ray://...``); None: the one ``ray.init()`` finds
    (``RAY_ADDRESS``, or a cluster already joined) or a new one on this machine."""
    actors: int | None = None
    """Engine actors in the pool; None: the cluster's CPUs divided by ``cpus_per_actor``."""
    cpus_per_actor: float = 1.0
    """CPUs each actor reserves (and llama.cpp's threads, unless STRUCTKIT_LLAMACPP_THREADS)."""
    gpus_per_actor: float = 0.0

    def check(self) -> None:
        if self.actors is not None and self.actors < 1:
            raise ConfigurationError("ray_actors must be at least 1")
        if self.cpus_per_actor <= 0 or self.gpus_per_actor < 0:
            raise ConfigurationError("ray_cpus_per_actor must be > 0, ray_gpus_per_actor >= 0")


@dataclass(frozen=True)
class _Reader:
    """Turns one input file read by Ray into rows: ``id``, ``kind``, ``payload``.

    ``kind`` is ``record`` (payload: the pickled Record), ``line`` (an input error: the finished
    line), or ``done``/``failed`` (finished in an earlier run: skipped, counted).
    """

    folder_ids: dict[str, str] | None  # folder sources: the path Ray reads -> the record id
    id_column: str | None
    group_by: str | None
    finished: IdSet
    failed: set[bytes]
    retry_failed: bool

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        from ._sources import _load_file, _open_source

        path = str(row["path"])
        with tempfile.TemporaryDirectory(prefix="structkit-ray-") as tmp:
            local = Path(tmp) / Path(path).name  # the file's own name: JSONL ids are NAME:LINE
            local.write_bytes(row["bytes"])
            items: Iterable[tuple[str, Any]]
            if self.folder_ids is not None:
                items = [(self.folder_ids[path], local)]
            else:
                items, _ = _open_source(
                    local, id_column=self.id_column, group_by=self.group_by, skip=set(), count=False
                )
            admission = IdAdmission(self.finished, self.failed, retry_failed=self.retry_failed)
            rows = []
            for rid, item in items:
                out_id, item, done = admission.admit(rid, item)
                if done is not None:
                    rows.append({"id": out_id, "kind": done, "payload": b""})
                    continue
                if isinstance(item, Path):
                    item = _load_file(item, out_id)
                if isinstance(item, Record):
                    rows.append({"id": out_id, "kind": "record", "payload": pickle.dumps(item)})
                else:
                    line = _encode(_line(out_id, item))
                    rows.append({"id": out_id, "kind": "line", "payload": line})
        return rows


class _EngineWorker:
    """One actor of the pool: one engine, started on its first block, kept for the job."""

    def __init__(
        self, task: str | Task[Any], engine: str | None, model: Any, settings: Settings
    ) -> None:
        self._job = _Job(
            task=get_task(task) if isinstance(task, str) else task,
            engine=_named_engine(engine, model),
            model=model,
            settings=settings,
        )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        ids = [str(rid) for rid in batch["id"]]
        kinds = [str(kind) for kind in batch["kind"]]
        payloads = batch["payload"]
        lines = [bytes(p) if k == "line" else b"" for k, p in zip(kinds, payloads, strict=True)]
        todo = [i for i, kind in enumerate(kinds) if kind == "record"]
        chunk = [(ids[i], pickle.loads(batch["payload"][i])) for i in todo]
        for i, line in zip(todo, _run_chunk(self._job, chunk), strict=True):
            lines[i] = _encode(line)
        return {"id": ids, "kind": kinds, "line": lines}


def _forwarded_env(plan: RayPlan) -> dict[str, str]:
    """structkit's settings for the actors, which may run on other machines."""
    values = {
        name: value
        for name in ENVIRONMENT
        if name not in _SECRETS and (value := env(name)) is not None
    }
    values.setdefault("STRUCTKIT_LLAMACPP_THREADS", str(max(1, math.floor(plan.cpus_per_actor))))
    return values


def _input_files(source: Path, skip: set[Path]) -> tuple[list[str], dict[str, str] | None]:
    """The files Ray reads, and for a folder, each file's record id (its relative path)."""
    if not source.exists():
        raise ConfigurationError(f"no such input file or folder: {source}")
    if source.is_dir():
        items, _ = _iter_dir(source, skip)
        pairs = [(str(path), rid) for rid, path in items]
        return [path for path, _ in pairs], dict(pairs)
    if source.suffix.lower() not in _SOURCE_SUFFIXES:
        raise ConfigurationError(
            f"cannot read {source.name} with the Ray executor: give a CSV, JSON Lines or Parquet "
            "file or a folder of .json/.xml/.csv/.md/.txt files"
        )
    return [str(source)], None


def _structkit_cause(exc: BaseException) -> StructkitError | None:
    """The structkit error behind a failure Ray reports (it wraps what an actor raised)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StructkitError):
            return current
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return None


def run_on_ray(
    *,
    task: str | Task[Any],
    engine: str | None,
    model: Any,
    settings: Settings,
    source: Path,
    skip: set[Path],
    id_column: str | None,
    group_by: str | None,
    finished: IdSet,
    failed: set[bytes],
    retry_failed: bool,
    batch_size: int,
    plan: RayPlan,
    writer: _Writer,
    bar: Progress,
    counts: dict[str, int],
) -> None:
    """Run the job on Ray, writing each line with ``writer`` and counting into ``counts``."""
    ray = require_ray()
    files, folder_ids = _input_files(source, skip)
    if not files:
        return
    joined = not ray.is_initialized()
    if joined:
        ray.init(address=plan.address, logging_level="WARNING", log_to_driver=False)
    try:
        _run_dataset(
            ray,
            files=files,
            reader=_Reader(folder_ids, id_column, group_by, finished, failed, retry_failed),
            worker_args=(task, engine, model, settings),
            batch_size=batch_size,
            plan=plan,
            emit=_Sink(writer, bar, counts),
        )
    except StructkitError:
        raise
    except Exception as exc:
        cause = _structkit_cause(exc)
        if cause is None:
            raise
        raise cause from None
    finally:
        if joined:
            ray.shutdown()


def _run_dataset(
    ray: Any,
    *,
    files: list[str],
    reader: _Reader,
    worker_args: tuple[Any, ...],
    batch_size: int,
    plan: RayPlan,
    emit: Callable[[list[tuple[str, str, bytes]]], None],
) -> None:
    data = ray.data
    data.DataContext.get_current().enable_progress_bars = False
    # Parsing runs (and finishes) before the actors start, so it never waits for their CPUs.
    rows = data.read_binary_files(files, include_paths=True).flat_map(reader).materialize()
    skipped = rows.filter(_is_skipped).select_columns(["id", "kind"]).take_all()
    emit([(row["id"], row["kind"], b"") for row in skipped])
    todo = rows.count() - len(skipped)
    if todo == 0:  # nothing left to run: no actor, no engine
        return
    pending = rows.filter(lambda row: not _is_skipped(row))
    blocks = pending.repartition(math.ceil(todo / batch_size)).materialize()
    cpus = ray.cluster_resources().get("CPU", 1)
    actors = plan.actors or max(1, int(cpus // plan.cpus_per_actor))
    results = blocks.map_batches(
        _EngineWorker,
        fn_constructor_args=worker_args,
        batch_size=batch_size,
        batch_format="numpy",
        compute=data.ActorPoolStrategy(size=actors),
        num_cpus=plan.cpus_per_actor,
        num_gpus=plan.gpus_per_actor or None,
        runtime_env={"env_vars": _forwarded_env(plan)},
    )
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        emit(list(zip(batch["id"], batch["kind"], batch["line"], strict=True)))


def _is_skipped(row: dict[str, Any]) -> bool:
    return str(row["kind"]) in ("done", "failed")


class _Sink:
    """Writes blocks of results as they arrive, each fsynced; each id at most once per run."""

    def __init__(self, writer: _Writer, bar: Progress, counts: dict[str, int]) -> None:
        self._writer, self._bar, self._counts = writer, bar, counts
        self._written = IdSet()

    def __call__(self, rows: list[tuple[str, str, bytes]]) -> None:
        ok = failed = skipped = 0
        for rid, kind, raw in rows:
            if kind in ("done", "failed"):  # finished in an earlier run
                skipped += 1
                self._counts["failed_earlier"] += kind == "failed"
                continue
            digest = id_digest(str(rid))
            if digest in self._written:
                continue  # never twice, even if Ray delivered a retried block's rows again
            self._written.add(digest)
            line: Line = json.loads(bytes(raw))
            self._writer.write(line)
            bad = line["status"] == "error" or bool(line.get("error"))
            ok, failed = ok + (not bad), failed + bad
        self._writer.sync()
        self._counts["ok"] += ok
        self._counts["failed"] += failed
        self._counts["skipped"] += skipped
        self._bar.update(ok=ok, failed=failed, skipped=skipped)
