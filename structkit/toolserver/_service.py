"""One warm engine behind a bounded queue: what both tool servers (HTTP and MCP) run on.

Requests are parsed where they arrive (a bad record is answered at once, with a typed error) and
queued as jobs. One worker thread owns the engine: it takes the first job, waits up to
``batch_window_s`` for more, and sends the jobs that share a task and settings as **one** engine
call, because on a CPU one batched call of n records costs far less than n calls. A full queue
refuses at the door (:class:`ServiceBusyError`, HTTP 429 with ``Retry-After``); a job that was
accepted is always answered, also when the service shuts down (:meth:`ToolService.close` stops
taking jobs, then finishes the queue).
"""

from __future__ import annotations

import asyncio
import csv
import logging
import math
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import _api
from .._engine import Engine
from .._errors import RecordParseError, ServiceBusyError
from .._runner import Outcome
from .._task import get_task, task_names
from ..adapters import KINDS, Record, load
from ..adapters._source import MAX_BYTES
from ..engines import resolve_engine
from ._security import PathPolicy

__all__ = ["RecordInput", "ToolOptions", "ToolService"]

log = logging.getLogger("structkit.toolserver")

MAX_RECORDS_PER_REQUEST = 256
RecordKind = Literal["json", "xml", "xbrl", "csv", "markdown", "text"]
assert set(RecordKind.__args__) <= set(KINDS)  # type: ignore[attr-defined]


class RecordInput(BaseModel):
    """One record: its content (JSON, XML, CSV, Markdown or plain text), or a path under the
    server's ``--root``. Content is never read as a path."""

    model_config = ConfigDict(extra="forbid")

    content: str | None = Field(
        default=None,
        max_length=MAX_BYTES,
        description="the record itself: a JSON object or FHIR Bundle, XML (C-CDA, XBRL), "
        "CSV or a Markdown table, or plain text (a contract)",
    )
    path: str | None = Field(
        default=None,
        max_length=4096,
        description="a file under the server's --root (only when it was started with one)",
    )
    kind: RecordKind | None = Field(
        default=None, description="the format, when it cannot be told from the content"
    )
    id: str | None = Field(
        default=None,
        max_length=200,
        description="the record's id in answers and errors (default: the file name or #N)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> RecordInput:
        if (self.content is None) == (self.path is None):
            raise ValueError("give exactly one of 'content' and 'path'")
        return self


class ToolOptions(BaseModel):
    """The run settings a client may choose (the model and engine are the server's)."""

    model_config = ConfigDict(extra="forbid")

    mode: str | None = Field(
        default=None, max_length=40, description="the task's mode; default: its first"
    )
    format: Literal["json", "markdown", "csv", "kv", "text"] | None = None
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    samples: int = Field(default=1, ge=1, le=5)
    max_attempts: int = Field(default=2, ge=1, le=3)
    grounding: bool = True
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)

    def run_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


@dataclass
class _Job:
    task: str
    records: list[Record]
    ids: list[str]
    options: ToolOptions
    future: Future[list[Outcome[Any]]] = field(default_factory=Future)

    @property
    def key(self) -> tuple[str, str]:
        return self.task, self.options.model_dump_json()


_STOP = object()


@dataclass
class ServiceStats:
    accepted: int = 0
    refused: int = 0
    answered: int = 0
    engine_calls: int = 0
    records: int = 0


class ToolService:
    """The warm engine and its queue. Thread-safe; start once, close once.

    Args:
        engine: an engine object, or a built-in's name (default: the platform's, as
            everywhere; ``STRUCTKIT_SERVER_URL`` selects a server).
        model: the model (default: the packaged one).
        root: the folder requests may name files in (None: content only).
        max_queue: jobs waiting at most; more are refused with :class:`ServiceBusyError`.
        max_batch: records sent to the engine in one call at most.
        batch_window_s: how long the worker waits for more jobs to join a call.
    """

    def __init__(
        self,
        *,
        engine: Engine | str | None = None,
        model: str | None = None,
        root: str | None = None,
        max_queue: int = 64,
        max_batch: int = 32,
        batch_window_s: float = 0.05,
    ) -> None:
        if max_queue < 1 or max_batch < 1:
            raise ValueError("max_queue and max_batch must be at least 1")
        self.paths = PathPolicy.under(root)
        self._requested = (engine, model)
        self._engine: Engine | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self.max_batch = max_batch
        self.batch_window_s = batch_window_s
        self.stats = ServiceStats()
        self._closing = False
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._seconds_per_call = 1.0

    # -- life -----------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the service is not started")
        return self._engine

    def start(self) -> ToolService:
        """Resolve and warm the engine (its start is paid here, once), then take jobs."""
        engine, model = self._requested
        self._engine = resolve_engine(engine=engine, model=model)
        _warm(self._engine)
        self._worker = threading.Thread(target=self._loop, name="structkit-engine", daemon=True)
        self._worker.start()
        log.info("structkit tool service ready: engine %s", self._engine.model_name)
        return self

    def close(self, *, timeout: float | None = None) -> None:
        """Refuse new jobs, answer every accepted one, then stop the worker."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        if self._worker is not None:
            self._queue.put(_STOP)  # after every accepted job: the queue is FIFO
            self._worker.join(timeout)

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    # -- requests -------------------------------------------------------------------------

    def tasks(self) -> list[str]:
        return task_names()

    def load(self, item: RecordInput, *, default_id: str) -> Record:
        """Parse one record where it arrives (InputError: answered at once, not queued)."""
        rid = item.id or default_id
        if item.path is not None:
            path = self.paths.resolve(item.path, record_id=rid)
            return load(path, kind=item.kind, record_id=item.id or path.name)
        content = item.content or ""
        if not content.strip():
            raise RecordParseError("the record is empty", record_id=rid)
        # As bytes: content is always read as content, never as a file name.
        return load(content.encode("utf-8"), kind=item.kind or content_kind(content), record_id=rid)

    def submit(
        self, task: str, records: Sequence[Record], ids: Sequence[str], options: ToolOptions
    ) -> Future[list[Outcome[Any]]]:
        """Queue one job; its future gives one outcome per record, in order."""
        get_task(task)  # an unknown task is a ConfigurationError now, not in the worker
        if not 0 < len(records) <= MAX_RECORDS_PER_REQUEST:
            raise ValueError(f"a request holds 1 to {MAX_RECORDS_PER_REQUEST} records")
        job = _Job(task, list(records), list(ids), options)
        with self._lock:
            if self._closing or self._worker is None:
                self.stats.refused += 1
                raise ServiceBusyError("the server is shutting down", retry_after=5.0, closing=True)
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                self.stats.refused += 1
                raise ServiceBusyError(
                    f"the queue is full ({self._queue.maxsize} requests waiting)",
                    retry_after=self.retry_after(),
                ) from None
            self.stats.accepted += 1
        return job.future

    async def run(
        self, task: str, records: Sequence[Record], ids: Sequence[str], options: ToolOptions
    ) -> list[Outcome[Any]]:
        """:meth:`submit` and wait without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(task, records, ids, options))

    def retry_after(self) -> float:
        """Seconds until the queue has likely drained enough to take another job."""
        calls = math.ceil(max(1, self._queue.qsize()) / self.max_batch)
        return float(max(1, math.ceil(calls * self._seconds_per_call)))

    # -- the worker -----------------------------------------------------------------------

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs: list[_Job] = [first]
            size = len(first.records)
            deadline = time.monotonic() + self.batch_window_s
            while size < self.max_batch:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                jobs.append(nxt)
                size += len(nxt.records)
            groups: dict[tuple[str, str], list[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.key, []).append(job)
            for group in groups.values():
                self._run_group(group)

    def _run_group(self, group: list[_Job]) -> None:
        first = group[0]
        records = [r for job in group for r in job.records]
        ids = [i for job in group for i in job.ids]
        started = time.monotonic()
        try:
            outcomes = _api.run(
                first.task,
                records,
                record_ids=ids,
                engine=self.engine,
                **first.options.run_options(),
            )
        except Exception as exc:  # a settings error (e.g. an unknown mode) fails the group
            for job in group:
                job.future.set_exception(exc)
                self.stats.answered += 1
            return
        finally:
            self._seconds_per_call = max(0.05, time.monotonic() - started)
        self.stats.engine_calls += 1
        self.stats.records += len(records)
        at = 0
        for job in group:
            job.future.set_result(outcomes[at : at + len(job.records)])
            at += len(job.records)
            self.stats.answered += 1


def content_kind(content: str) -> str:
    """The format of record content sent without a ``kind``: JSON, XML and Markdown tables by
    their first character, CSV by a delimiter that splits every one of the first lines alike,
    else plain text (a contract)."""
    head = content.lstrip("\ufeff \t\r\n")[:1]
    if head in ("{", "["):
        return "json"
    if head == "<":
        return "xml"
    if head == "|":
        return "markdown"
    lines = [line for line in content[:8192].splitlines()[:20] if line.strip()]
    if len(lines) >= 2:
        try:
            dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t")
        except csv.Error:
            return "text"
        widths = {len(row) for row in csv.reader(lines, dialect)}
        if len(widths) == 1 and widths.pop() >= 2:
            return "csv"
    return "text"


def _warm(engine: Engine) -> None:
    """Start the engine now rather than on the first request."""
    for attribute in ("server", "llm"):  # LlamaCppEngine, VLLMEngine: started on first access
        if isinstance(getattr(type(engine), attribute, None), property):
            getattr(engine, attribute)
            return
    health_check = getattr(engine, "health_check", None)
    if callable(health_check):  # ServerEngine: the server is up and serves the model
        health_check()
