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
from typing_extensions import Unpack

from ._ask import run_questions
from ._draw import Draw, draw_until_valid
from ._engine import Engine
from ._errors import ConfigurationError, InputError
from ._outcome import Outcome, load_outcomes
from ._settings import Resolved, SettingOptions, Settings
from ._task import Task
from ._vote import vote
from .adapters._render import fit_to_budget

__all__ = ["Outcome", "run_task"]

M = TypeVar("M", bound=BaseModel)


def run_task(
    task: Task[M],
    records: Sequence[Any],
    *,
    engine: Engine,
    record_ids: Sequence[str] | None = None,
    settings: Settings | None = None,
    **options: Unpack[SettingOptions],
) -> list[Outcome[M]]:
    """Run ``task`` over ``records``; one :class:`Outcome` per record, in order.

    How it samples is ``settings``, or the same options as keywords (not both). With
    ``samples > 1`` every part is sampled that many times in the same batch and the valid
    samples are combined by per-field majority (self-consistency); a part with no valid sample
    is resampled up to ``max_attempts`` times.
    """
    if settings is not None and options:
        raise ConfigurationError("give settings or options, not both")
    chosen = settings if settings is not None else Settings.from_options(options)
    resolved = chosen.resolve(task, engine.profile)
    if task.questions is not None:
        return run_questions(task, records, engine=engine, record_ids=record_ids, run=resolved)
    return _run_classic(task, records, engine, record_ids, resolved)


def _run_classic(
    task: Task[M],
    records: Sequence[Any],
    engine: Engine,
    record_ids: Sequence[str] | None,
    run: Resolved,
) -> list[Outcome[M]]:
    profile = engine.profile
    settings = run.settings
    budget = run.answer_tokens
    record_budget = run.record_room(task, engine)

    outcomes: list[Outcome[M]] = load_outcomes(records, record_ids)
    parts: list[Draw] = []
    for index, outcome in enumerate(outcomes):
        if outcome.record is None:
            continue
        try:
            pieces = fit_to_budget(
                outcome.record,
                budget=record_budget,
                count_tokens=engine.count_tokens,
                format=run.format,
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
                task.schema_for(piece, grounding=settings.grounding),
                budget,
            )
            for piece, text in pieces
        )
    draw_until_valid(
        parts, outcomes, engine=engine, sampling=run.draws(), output_model=task.output_model
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
