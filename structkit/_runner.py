"""Run a task over records: load, render within the token budget, one batched engine call per
attempt, validate, resample failures, merge the parts of split records.

Recovery is by *resampling*: a failed answer is drawn again with a new seed from the same
prompt. The conversation is never grown with error messages (instructor users saw context grow
x506 over 10 retries doing that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from ._ask import CHAT_MARKUP_TOKENS, run_questions
from ._draw import Draw, draw_until_valid
from ._engine import Engine
from ._errors import ConfigurationError, InputError
from ._outcome import Outcome, default_record_id
from ._sampling import answer_budget
from ._task import Task
from ._validate import validate_answer
from ._vote import vote
from .adapters._load import load
from .adapters._render import fit_to_budget

__all__ = ["Outcome", "run_task"]

M = TypeVar("M", bound=BaseModel)


def _record_budget(task: Task[Any], engine: Engine, answer_budget: int) -> int:
    empty = task.prompt("", profile=engine.profile)[0]["content"]
    overhead = engine.count_tokens(empty) + CHAT_MARKUP_TOKENS
    return engine.profile.max_model_len - answer_budget - overhead


def run_task(
    task: Task[M],
    records: Sequence[Any],
    *,
    engine: Engine,
    record_ids: Sequence[str] | None = None,
    format: str | None = None,
    grounding: bool = True,
    samples: int = 1,
    max_attempts: int = 2,
    max_tokens: int | None = None,
    temperature: float | None = None,
    thinking_budget: int | None = None,
    seed: int = 0,
    mode: str | None = None,
) -> list[Outcome[M]]:
    """Run ``task`` over ``records``; one :class:`Outcome` per record, in order.

    With ``samples > 1`` every part is sampled that many times in the same batch and the valid
    samples are combined by per-field majority (self-consistency); a part with no valid sample
    is resampled up to ``max_attempts`` times.
    """
    if max_attempts < 1 or samples < 1:
        raise ConfigurationError("max_attempts and samples must be at least 1")
    chosen_mode = task.resolve_mode(mode)
    profile = engine.profile
    base_temperature = next(
        t for t in (temperature, task.temperature, profile.temperature) if t is not None
    )
    if task.questions is not None:
        return run_questions(
            task,
            records,
            engine=engine,
            record_ids=record_ids,
            mode=chosen_mode,
            grounding=grounding,
            samples=samples,
            max_attempts=max_attempts,
            max_tokens=max_tokens,
            temperature=base_temperature,
            thinking_budget=thinking_budget,
            seed=seed,
        )
    fmt = format or task.format
    budget = answer_budget(profile, requested=max_tokens, task_budget=task.max_tokens)
    record_budget = _record_budget(task, engine, budget)

    outcomes: list[Outcome[M]] = []
    parts: list[Draw] = []
    for index, source in enumerate(records):
        rid = record_ids[index] if record_ids is not None else default_record_id(source, index)
        outcome: Outcome[M] = Outcome(record_id=rid)
        outcomes.append(outcome)
        try:
            outcome.record = load(source, record_id=rid)
            pieces = fit_to_budget(
                outcome.record,
                budget=record_budget,
                count_tokens=engine.count_tokens,
                format=fmt,
                policy=task.overflow,
            )
        except InputError as exc:
            outcome.error = exc
            continue
        outcome.parts = len(pieces)
        parts.extend(
            Draw(
                index,
                task.prompt(text, profile=profile),
                task.schema_for(piece, grounding=grounding),
                budget,
            )
            for piece, text in pieces
        )

    def validate(
        part: Draw, text: str, finish_reason: str | None, attempt: int, record_id: str
    ) -> tuple[Any, str | None]:
        return validate_answer(
            text,
            output_model=task.output_model,
            schema=part.schema,
            finish_reason=finish_reason,
            reasoning_model=profile.reasoning,
            attempts=attempt,
            record_id=record_id,
        )

    draw_until_valid(
        parts,
        outcomes,
        engine=engine,
        validate=validate,
        samples=samples,
        max_attempts=max_attempts,
        temperature=base_temperature,
        thinking_budget=thinking_budget,
        seed=seed,
    )
    _collect(task, outcomes, parts)
    return outcomes


def _collect(task: Task[M], outcomes: list[Outcome[M]], parts: list[Draw]) -> None:
    by_record: dict[int, list[Draw]] = {}
    for part in parts:
        by_record.setdefault(part.record_index, []).append(part)
    for index, record_parts in by_record.items():
        outcome = outcomes[index]
        failed = next((p.error for p in record_parts if not p.values), None)
        if failed is not None:
            outcome.error = failed
            continue
        values = []
        for part in record_parts:
            voted, agreement = vote(part.values)
            values.append(voted)
            outcome.samples = max(outcome.samples, len(part.values))
            for name, share in agreement.items():  # the weakest part sets the confidence
                outcome.agreement[name] = min(share, outcome.agreement.get(name, 1.0))
        value = values[0] if len(values) == 1 or task.merge is None else task.merge(values)
        if task.postprocess is not None and outcome.record is not None:
            value = task.postprocess(value, outcome.record)
        outcome.value = value
        thoughts = [p.reasoning for p in record_parts if p.reasoning]
        outcome.reasoning = "\n\n".join(thoughts) if thoughts else None
