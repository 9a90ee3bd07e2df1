"""Draw answers until each request has a valid one: the attempt loop shared by the classic path
and question mode. Every attempt is one batched engine call over all requests still without a
valid answer; failures are resampled with a new seed from the same prompt."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._engine import Engine, GenerationRequest, Message
from ._errors import EngineRequestError, OutputError
from ._outcome import Outcome
from ._sampling import attempt_temperature, request_seed

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


#: Validates one completion's text for a draw: (value, reasoning) or an ``OutputError``.
Validate = Callable[[Draw, str, "str | None", int, str], tuple[Any, "str | None"]]


def draw_until_valid(
    draws: Sequence[Draw],
    outcomes: Sequence[Outcome[Any]],
    *,
    engine: Engine,
    validate: Validate,
    samples: int,
    max_attempts: int,
    temperature: float,
    thinking_budget: int | None,
    seed: int,
) -> None:
    """Fill each draw's ``values`` (``samples`` per attempt) or its last ``error``; count
    attempts and tokens on the record's outcome."""
    profile = engine.profile
    pending = list(range(len(draws)))
    for attempt in range(1, max_attempts + 1):
        if not pending:
            break
        temp = attempt_temperature(temperature, attempt=attempt, samples=samples)
        slots = [(i, k) for i in pending for k in range(samples)]
        requests = [
            GenerationRequest(
                messages=draws[i].messages,
                json_schema=draws[i].schema,
                max_tokens=draws[i].budget,
                temperature=temp,
                top_p=profile.top_p,
                seed=request_seed(seed, index=i, attempt=attempt, sample=k),
                thinking_budget=thinking_budget,
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
                value, reasoning = validate(
                    draw, completion.text, completion.finish_reason, attempt, outcome.record_id
                )
                draw.values.append(value)
                draw.reasoning = draw.reasoning or reasoning
            except OutputError as exc:
                draw.error = exc
        pending = [i for i in pending if not draws[i].values]
