"""Draw answers until each request has a valid one: the attempt loop shared by the classic path
and question mode. Every attempt is one batched engine call over all requests still without a
valid answer; failures are resampled with a new seed from the same prompt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ._engine import Engine, GenerationRequest, LoraAdapter, Message
from ._errors import EngineRequestError, OutputError
from ._outcome import Outcome
from ._sampling import Sampling, attempt_temperature, request_seed
from ._validate import validate_answer, validate_json

__all__ = ["Draw", "draw_until_valid"]


@dataclass
class Draw:
    """One request (a record part or a question) and the valid answers drawn for it so far."""

    record_index: int
    messages: list[Message]
    schema: dict[str, Any]
    budget: int
    values: list[Any] = field(default_factory=list)
    error: OutputError | None = None
    reasoning: str | None = None
    adapter: LoraAdapter | None = None


def draw_until_valid(
    draws: Sequence[Draw],
    outcomes: Sequence[Outcome[Any]],
    *,
    engine: Engine,
    sampling: Sampling,
    output_model: type[BaseModel] | None = None,
) -> None:
    """Fill each draw's ``values`` (``samples`` per attempt) or its last ``error``; count
    attempts and tokens on the record's outcome.

    Each answer is validated against its draw's JSON Schema and, when ``output_model`` is
    given, as that model (the classic path); question mode's small answers are JSON only."""
    samples, max_attempts = sampling.samples, sampling.max_attempts
    profile = engine.profile
    pending = list(range(len(draws)))
    for attempt in range(1, max_attempts + 1):
        if not pending:
            break
        temp = attempt_temperature(sampling.temperature, attempt=attempt, samples=samples)
        slots = [(i, k) for i in pending for k in range(samples)]
        requests = [
            GenerationRequest(
                messages=draws[i].messages,
                json_schema=draws[i].schema,
                max_tokens=draws[i].budget,
                temperature=temp,
                top_p=profile.top_p,
                seed=request_seed(sampling.seed, index=i, attempt=attempt, sample=k),
                thinking_budget=sampling.thinking_budget,
                adapter=draws[i].adapter,
            )
            for i, k in slots
        ]
        completions = engine.generate(requests)
        for (i, _), completion in zip(slots, completions, strict=True):
            draw = draws[i]
            outcome = outcomes[draw.record_index]
            outcome.attempts = max(outcome.attempts, attempt)
            outcome.prompt_tokens += completion.prompt_tokens
            outcome.completion_tokens += completion.completion_tokens
            try:
                if completion.error is not None:
                    raise EngineRequestError(
                        f"engine error: {completion.error}",
                        attempts=attempt,
                        record_id=outcome.record_id,
                    )
                checks: dict[str, Any] = {
                    "schema": draw.schema,
                    "finish_reason": completion.finish_reason,
                    "reasoning_model": profile.reasoning,
                    "attempts": attempt,
                    "record_id": outcome.record_id,
                }
                value, reasoning = (
                    validate_json(completion.text, **checks)
                    if output_model is None
                    else validate_answer(completion.text, output_model=output_model, **checks)
                )
                draw.values.append(value)
                draw.reasoning = draw.reasoning or reasoning
            except OutputError as exc:
                draw.error = exc
        pending = [i for i in pending if not draws[i].values]
