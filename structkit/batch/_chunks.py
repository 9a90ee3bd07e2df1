"""One chunk of records through the task (or through the token counter for a dry run)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._audit import attach_audits, run_audit, utc_now
from .._config import default_model
from .._engine import Engine
from .._errors import (
    ConfigurationError,
    EngineRequestError,
    InputError,
    ModelError,
    StructkitError,
)
from .._profiles import profile_for
from .._runner import run_task
from .._settings import Settings, prompt_room
from .._task import Task
from ..adapters._record import Record
from ..adapters._render import fit_to_budget, render
from ..engines import resolve_engine

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    pass

from ._common import Line, log
from ._output import _error


@dataclass
class _Job:
    task: Task[Any]
    settings: Settings
    engine: Engine | None
    model: Any
    dry_count: Callable[[str], int] | None = None
    dry_template: int = 0  # tokens of the prompt around the record
    dry_budget: int | None = None
    source: str | None = None  # the input file or folder, recorded in audits for review
    records: int | None = None  # records left to run, when counted: picks the default engine

    shared_audit: dict[str, Any] | None = None

    def audit(self) -> dict[str, Any]:
        """The run's shared audit fields (computed once per job: hashing is not per chunk)."""
        if self.shared_audit is None:
            self.shared_audit = run_audit(self.task, self.get_engine(), self.settings)
            if self.source is not None:
                self.shared_audit["input"] = self.source
        return self.shared_audit

    def get_engine(self) -> Engine:
        if self.engine is None:  # started on the first chunk that needs it, never on a no-op
            self.engine = resolve_engine(model=self.model, records=self.records)
        return self.engine


def _named_engine(engine: Engine | str | None, model: Any) -> Engine | None:
    """An engine given by name is looked up now (engines start lazily, so this costs nothing)."""
    return resolve_engine(engine=engine, model=model) if isinstance(engine, str) else engine


def _line(
    rid: str,
    error: StructkitError | None,
    value: Any = None,
    attempts: int = 0,
    audit: dict[str, Any] | None = None,
) -> Line:
    result = value.model_dump(mode="json") if value is not None else None
    status, problem = ("ok", None) if error is None else ("error", _error(error))
    line = {"id": rid, "status": status, "result": result, "error": problem, "attempts": attempts}
    return line if audit is None else {**line, "audit": audit}


def _run_chunk(job: _Job, chunk: list[tuple[str, Record | InputError]]) -> list[Line]:
    lines: list[Line | None] = [
        _line(rid, item) if isinstance(item, InputError) else None for rid, item in chunk
    ]
    todo = [(i, rid, item) for i, (rid, item) in enumerate(chunk) if isinstance(item, Record)]
    if todo:
        try:
            started = utc_now()
            outcomes = run_task(
                job.task,
                [item for _, _, item in todo],
                engine=job.get_engine(),
                record_ids=[rid for _, rid, _ in todo],
                settings=job.settings,
            )
            attach_audits(outcomes, job.audit(), started=started)
            for (i, rid, _), outcome in zip(todo, outcomes, strict=True):
                audit = outcome.audit
                lines[i] = _line(rid, outcome.error, outcome.value, outcome.attempts, audit)
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
    fmt = job.settings.format or job.task.format
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
        profile = profile_for(str(job.model or default_model()))
        if count_tokens is None:
            from .._tokens import token_counter  # loads the tokenizer, never the engine

            counter = token_counter(job.model)
        else:
            counter = count_tokens
    job.dry_count = counter
    job.dry_template = counter(job.task.prompt("", profile=profile)[0]["content"])
    if count_tokens is None:  # a custom counter (e.g. characters) cannot check a token budget
        answer = job.settings.resolve(job.task, profile).answer_tokens
        job.dry_budget = prompt_room(profile, answer, overhead=job.dry_template)
