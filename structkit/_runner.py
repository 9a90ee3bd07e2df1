"""Run a task over records: render, one batched engine call per attempt, validate, resample.

Recovery is by *resampling*: a failed answer is drawn again with a new seed from the same
prompt. The conversation is never grown with error messages (instructor users saw context grow
x506 over 10 retries doing that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ._errors import EngineRequestError, InputError, OutputError, StructkitError
from ._records import load_record
from ._task import Task
from ._validate import validate_answer
from .engines._base import Engine, GenerationRequest

__all__ = ["Outcome", "run_task"]

M = TypeVar("M", bound=BaseModel)

#: Resampling at temperature 0 would redraw the same answer; retries use at least this.
_MIN_RETRY_TEMPERATURE = 0.3


@dataclass
class Outcome(Generic[M]):
    """The result for one record: a validated ``value`` or a typed ``error``, never both."""

    record_id: str
    value: M | None = None
    error: StructkitError | None = None
    attempts: int = 0
    reasoning: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> M:
        """The validated value, or raise the error."""
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


def run_task(
    task: Task[M],
    records: Sequence[Any],
    *,
    engine: Engine,
    record_ids: Sequence[str] | None = None,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int = 0,
) -> list[Outcome[M]]:
    """Run ``task`` over ``records``; one :class:`Outcome` per record, in order."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    profile = engine.profile
    schema = task.schema
    budget = max_tokens or task.max_tokens or profile.max_tokens
    base_temperature = (
        temperature
        if temperature is not None
        else (task.temperature if task.temperature is not None else profile.temperature)
    )
    outcomes: list[Outcome[M]] = []
    prompts: dict[int, list[dict[str, str]]] = {}
    for index, source in enumerate(records):
        default_id = record_ids[index] if record_ids is not None else f"#{index}"
        try:
            record_id, value = load_record(source, record_id=default_id)
            if record_ids is not None:
                record_id = default_id
            prompts[index] = task.prompt(task.render(value), profile=profile)
            outcomes.append(Outcome(record_id=record_id))
        except InputError as exc:
            outcomes.append(Outcome(record_id=exc.record_id or default_id, error=exc))
        except (TypeError, ValueError) as exc:  # a value the renderer cannot serialize
            err = InputError(f"cannot render record: {type(exc).__name__}", record_id=default_id)
            outcomes.append(Outcome(record_id=default_id, error=err))

    pending = sorted(prompts)
    for attempt in range(1, max_attempts + 1):
        if not pending:
            break
        temp = base_temperature if attempt == 1 else max(base_temperature, _MIN_RETRY_TEMPERATURE)
        requests = [
            GenerationRequest(
                messages=prompts[i],
                json_schema=schema,
                max_tokens=budget,
                temperature=temp,
                top_p=profile.top_p,
                seed=seed + 7919 * i + 104729 * (attempt - 1),
            )
            for i in pending
        ]
        completions = engine.generate(requests)
        still_failing: list[int] = []
        for i, completion in zip(pending, completions, strict=True):
            outcome = outcomes[i]
            outcome.attempts = attempt
            outcome.prompt_tokens += completion.prompt_tokens
            outcome.completion_tokens += completion.completion_tokens
            try:
                if completion.error is not None:
                    raise EngineRequestError(
                        f"engine error: {completion.error}",
                        attempts=attempt,
                        record_id=outcome.record_id,
                    )
                outcome.value, outcome.reasoning = validate_answer(
                    completion.text,
                    output_model=task.output_model,
                    schema=schema,
                    finish_reason=completion.finish_reason,
                    reasoning_model=profile.reasoning,
                    attempts=attempt,
                    record_id=outcome.record_id,
                )
                outcome.error = None
            except OutputError as exc:
                outcome.error = exc
                still_failing.append(i)
        pending = still_failing
    return outcomes
