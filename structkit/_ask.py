"""Question mode: run a task whose code has done the exact work and left small questions.

For each record the task builds its questions (maybe none); every question of every record goes
to the engine in one batched call per attempt, so the engine sees the whole batch (and reuses
shared prompt prefixes). Each answer is validated against its own small schema; failed questions
are resampled; then the task assembles the record's answer from the validated answers and the
result is validated against the task's output model.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ._draw import Draw, draw_until_valid
from ._engine import Engine
from ._errors import (
    ConfigurationError,
    InputError,
    OutputError,
    OutputValidationError,
    RecordTooLargeError,
    StructkitError,
)
from ._outcome import Outcome, load_outcomes
from ._settings import Resolved, prompt_room
from ._task import Answers, Question, QuestionContext, Task

__all__ = ["question_context", "run_questions"]

M = TypeVar("M", bound=BaseModel)


@dataclass
class _Asked(Draw):
    """One question of one record (its ``key``), and the valid answers drawn for it so far."""

    key: str = ""


def _majority(values: list[Any]) -> tuple[Any, float]:
    """The most common answer (by canonical JSON; ties: the earliest) and its share."""
    canon = [json.dumps(v, sort_keys=True, ensure_ascii=False) for v in values]
    best, count = Counter(canon).most_common(1)[0]
    return values[canon.index(best)], count / len(values)


def question_context(engine: Engine, *, mode: str, grounding: bool) -> QuestionContext:
    """What a task's ``questions`` sees of the run: the mode, the engine's tokenizer and profile,
    and the prompt room left after the answer budget and the chat markup."""
    profile = engine.profile
    return QuestionContext(
        mode=mode,
        grounding=grounding,
        count_tokens=engine.count_tokens,
        profile=profile,
        max_prompt_tokens=prompt_room(profile, profile.max_tokens),
    )


def run_questions(
    task: Task[M],
    records: Sequence[Any],
    *,
    engine: Engine,
    record_ids: Sequence[str] | None,
    run: Resolved,
) -> list[Outcome[M]]:
    """Run a question-mode task over ``records``; one :class:`Outcome` per record, in order."""
    assert task.questions is not None and task.assemble is not None
    settings = run.settings
    context = question_context(engine, mode=run.mode, grounding=settings.grounding)
    outcomes: list[Outcome[M]] = load_outcomes(records, record_ids)
    asked: list[_Asked] = []
    for index, outcome in enumerate(outcomes):
        if outcome.record is None:
            continue
        rid = outcome.record_id
        try:
            questions = task.questions(outcome.record, context)
            mine = [_plan(q, index, rid, engine, settings.max_tokens) for q in questions]
        except InputError as exc:
            outcome.error = exc
            continue
        if len({q.key for q in questions}) != len(questions):
            raise ConfigurationError(f"task {task.name!r} asked two questions with one key")
        asked.extend(mine)
        outcome.questions = len(mine)
    draw_until_valid(asked, outcomes, engine=engine, sampling=run.draws())

    by_record: dict[int, list[_Asked]] = {}
    for item in asked:
        by_record.setdefault(item.record_index, []).append(item)
    for index, outcome in enumerate(outcomes):
        if outcome.error is not None or outcome.record is None:
            continue
        _assemble(task, outcome, by_record.get(index, []), run.mode)
    return outcomes


def _plan(
    question: Question, index: int, record_id: str, engine: Engine, max_tokens: int | None
) -> _Asked:
    """Check that a question fits the context and give it its answer budget."""
    profile = engine.profile
    budget = max_tokens or question.max_tokens + profile.thinking_tokens
    prompt = "\n".join(m["content"] for m in question.messages)
    tokens = engine.count_tokens(prompt)
    room = prompt_room(profile, budget)
    if tokens > room:
        raise RecordTooLargeError(
            f"question {question.key!r} does not fit the context",
            record_id=record_id,
            tokens=tokens,
            budget=room,
        )
    return _Asked(
        index,
        question.messages,
        question.json_schema,
        budget,
        adapter=question.adapter,
        key=question.key,
    )


def _assemble(task: Task[M], outcome: Outcome[M], items: list[_Asked], mode: str) -> None:
    """Build, validate and post-process one record's answer from its questions' answers."""
    assert task.assemble is not None and outcome.record is not None
    values: dict[str, Any] = {}
    failures: dict[str, OutputError] = {}
    for item in items:
        if item.values:
            values[item.key], share = _majority(item.values)
            outcome.agreement[item.key] = share
            outcome.samples = max(outcome.samples, len(item.values))
        elif item.error is not None:
            failures[item.key] = item.error
    thoughts = [item.reasoning for item in items if item.reasoning]
    outcome.reasoning = "\n\n".join(thoughts) if thoughts else None
    answers = Answers(values=values, failures=failures, asked=len(items), mode=mode)
    try:
        built = task.assemble(outcome.record, answers)
        value = (
            built
            if isinstance(built, task.output_model)
            else task.output_model.model_validate(built)
        )
        if task.postprocess is not None:
            value = task.postprocess(value, outcome.record)
    except ValidationError as exc:
        outcome.error = OutputValidationError(
            f"the assembled answer breaks {task.output_model.__name__}",
            problems=[
                f"{'/'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)
            ],
            attempts=outcome.attempts,
            record_id=outcome.record_id,
        )
        return
    except StructkitError as exc:
        outcome.error = exc
        return
    outcome.value = value
