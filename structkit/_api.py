"""The public functions: ``diagnose`` and friends. Keyword-only options, one engine per process."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ._runner import Outcome, run_task
from ._task import Task, get_task, register_task
from .engines._base import Engine
from .tasks.diagnosis import Diagnosis

__all__ = ["DIAGNOSIS", "diagnose", "diagnose_many", "run"]

DIAGNOSIS = Task(name="diagnosis", template="diagnosis.jinja", output_model=Diagnosis)
register_task(DIAGNOSIS)

ModelArg = str | os.PathLike[str] | None


def _engine(engine: Engine | None, model: ModelArg) -> Engine:
    if engine is not None:
        return engine
    from .engines._vllm import get_engine  # heavy imports only when a real engine is needed

    return get_engine(model)


def run(
    task: str | Task[Any],
    records: Sequence[Any],
    *,
    model: ModelArg = None,
    engine: Engine | None = None,
    record_ids: Sequence[str] | None = None,
    format: str | None = None,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int = 0,
) -> list[Outcome[Any]]:
    """Run a task (by name or object) over records in one batched engine call per attempt.

    Returns one :class:`Outcome` per record, in order; a bad record or a failed answer is an
    outcome with an ``error``, never an exception that loses the other records.
    """
    chosen = get_task(task) if isinstance(task, str) else task
    return run_task(
        chosen,
        records,
        engine=_engine(engine, model),
        record_ids=record_ids,
        format=format,
        max_attempts=max_attempts,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )


def diagnose(
    record: Any,
    *,
    model: ModelArg = None,
    engine: Engine | None = None,
    format: str | None = None,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int = 0,
) -> Diagnosis:
    """Decision-support differential diagnosis for one patient record.

    Args:
        record: anything ``structkit.adapters.load`` reads: a dict, a FHIR Bundle, a C-CDA or
            other XML document, a one-row DataFrame, a path to a .json/.xml/.csv/.md file.
        model: model name, folder or Hugging Face id; default: the packaged SmolLM2-135M-Instruct
            (or ``STRUCTKIT_MODEL``).
        engine: an engine to use instead (e.g. ``structkit.FakeEngine`` in tests).
        format: how the record is rendered in the prompt (``json``, ``markdown``, ``csv``,
            ``kv``); default: the task's.
        max_attempts: samples drawn before giving up on an invalid or truncated answer.
        max_tokens: answer budget (reasoning models: thinking plus answer).
        temperature: sampling temperature; default from the model's profile.
        seed: base seed, so runs are repeatable.

    Returns:
        A validated :class:`Diagnosis`.

    Raises:
        InputError: the record cannot be read.
        OutputError: no valid answer after ``max_attempts`` (carries the raw output).
    """
    (outcome,) = run_task(
        DIAGNOSIS,
        [record],
        engine=_engine(engine, model),
        format=format,
        max_attempts=max_attempts,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
    return outcome.unwrap()


def diagnose_many(
    records: Sequence[Any],
    *,
    model: ModelArg = None,
    engine: Engine | None = None,
    record_ids: Sequence[str] | None = None,
    format: str | None = None,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int = 0,
) -> list[Outcome[Diagnosis]]:
    """Diagnose many records in one batched engine call; one :class:`Outcome` per record."""
    return run_task(
        DIAGNOSIS,
        records,
        engine=_engine(engine, model),
        record_ids=record_ids,
        format=format,
        max_attempts=max_attempts,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )
