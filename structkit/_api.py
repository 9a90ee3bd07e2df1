"""The public functions: ``diagnose`` and friends. Keyword-only options, one engine per process."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from ._runner import Outcome, run_task
from ._task import Task, get_task, register_task
from .engines._base import Engine
from .tasks.diagnosis import DIAGNOSIS, Diagnosis

__all__ = ["diagnose", "diagnose_many", "run"]

register_task(DIAGNOSIS)

M = TypeVar("M", bound=BaseModel)
ModelArg = str | os.PathLike[str] | None


def _engine(engine: Engine | None, model: ModelArg) -> Engine:
    if engine is not None:
        return engine
    from .engines._vllm import get_engine  # heavy imports only when a real engine is needed

    return get_engine(model)


def _run(task: Task[M], records: Sequence[Any], options: dict[str, Any]) -> list[Outcome[M]]:
    engine = _engine(options.pop("engine"), options.pop("model"))
    return run_task(task, records, engine=engine, **options)


def run(
    task: str | Task[Any],
    records: Sequence[Any],
    *,
    model: ModelArg = None,
    engine: Engine | None = None,
    record_ids: Sequence[str] | None = None,
    format: str | None = None,
    grounding: bool = True,
    samples: int = 1,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    thinking_budget: int | None = None,
    seed: int = 0,
) -> list[Outcome[Any]]:
    """Run a task (by name or object) over records; one batched engine call per attempt.

    Args:
        task: a registered task name (``structkit.task_names()``) or a :class:`Task`.
        records: anything ``structkit.adapters.load`` reads: dicts (incl. FHIR Bundles), XML
            (incl. C-CDA), DataFrames, paths to .json/.xml/.csv/.md/.txt files, text.
        model: model name, folder or Hugging Face id; default: the packaged SmolLM2-135M-Instruct
            (or ``STRUCTKIT_MODEL``).
        engine: an engine to use instead (e.g. ``structkit.FakeEngine`` in tests).
        record_ids: ids for the records (default: file names, else ``#<index>``).
        format: how records are rendered in prompts (``json``, ``markdown``, ``csv``, ``kv``,
            ``text``); default: the task's.
        grounding: constrain copied fields to values present in the record while decoding
            (answers are verified after decoding either way).
        samples: samples per record; above 1, fields are voted on (self-consistency) and
            ``Outcome.agreement`` gives per-field agreement.
        max_attempts: rounds of resampling for records with no valid answer.
        max_tokens: answer budget (reasoning models: thinking plus answer).
        temperature: sampling temperature; default from the model's profile.
        thinking_budget: reasoning models: tokens allowed before ``</think>`` is forced.
        seed: base seed, so runs are repeatable.

    Returns:
        One :class:`Outcome` per record, in order; a bad record or a failed answer is an
        outcome with a typed ``error``, never an exception that loses the other records.
    """
    chosen = get_task(task) if isinstance(task, str) else task
    options = dict(locals())
    for name in ("task", "records", "chosen"):
        options.pop(name)
    return _run(chosen, records, options)


def diagnose(
    record: Any,
    *,
    model: ModelArg = None,
    engine: Engine | None = None,
    format: str | None = None,
    grounding: bool = True,
    samples: int = 1,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    thinking_budget: int | None = None,
    seed: int = 0,
) -> Diagnosis:
    """Decision-support differential diagnosis for one patient record.

    ``record`` is anything ``structkit.adapters.load`` reads (a dict, a FHIR Bundle, a C-CDA
    document, a one-row DataFrame, a file path). Options are those of :func:`run`. Each
    differential item cites the record fields it rests on (``evidence``, with ``pointers``).

    Raises:
        InputError: the record cannot be read.
        OutputError: no valid answer after ``max_attempts`` (carries the raw output).
    """
    options = dict(locals())
    options.pop("record")
    (outcome,) = _run(DIAGNOSIS, [record], options)
    return outcome.unwrap()


def diagnose_many(
    records: Sequence[Any],
    *,
    model: ModelArg = None,
    engine: Engine | None = None,
    record_ids: Sequence[str] | None = None,
    format: str | None = None,
    grounding: bool = True,
    samples: int = 1,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    thinking_budget: int | None = None,
    seed: int = 0,
) -> list[Outcome[Diagnosis]]:
    """Diagnose many records in one batched engine call; one :class:`Outcome` per record."""
    options = dict(locals())
    options.pop("records")
    return _run(DIAGNOSIS, records, options)
