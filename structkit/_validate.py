"""Turn one engine completion into a validated model instance or a typed :class:`OutputError`.

Order matters: a truncated answer is reported as truncated (not as "invalid JSON"), a reasoning
model that never closed ``</think>`` is reported as out of thinking budget, and only complete
answers are parsed. JSON is parsed strictly (no NaN/Infinity, no duplicate keys), then checked
against the JSON Schema with jsonschema *and* the Pydantic model: engines silently ignore some
schema keywords, and Pydantic adds checks a schema cannot express.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from ._errors import (
    OutputParseError,
    OutputValidationError,
    ThinkingBudgetError,
    TruncatedOutputError,
)
from ._strictjson import no_duplicate_keys, reject_constant

__all__ = ["split_reasoning", "validate_answer", "validate_json"]

M = TypeVar("M", bound=BaseModel)

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def split_reasoning(text: str) -> tuple[str | None, str, bool]:
    """Split a reasoning model's output into (reasoning, answer, closed).

    DeepSeek-R1 distills often omit the opening ``<think>`` (the chat template adds it), so only
    the closing tag is required. ``closed`` is False when no ``</think>`` was produced: then the
    whole text is reasoning and there is no answer yet.
    """
    if _THINK_CLOSE not in text:
        body = text.split(_THINK_OPEN, 1)[-1]
        return body.strip(), "", False
    head, _, answer = text.partition(_THINK_CLOSE)
    reasoning = head.split(_THINK_OPEN, 1)[-1].strip()
    return reasoning, answer.strip(), True


def strict_json_loads(text: str) -> Any:
    """``json.loads`` that refuses NaN/Infinity and duplicate keys, and never recurses away."""
    try:
        return json.loads(text, parse_constant=reject_constant, object_pairs_hook=no_duplicate_keys)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _schema_problems(schema: dict[str, Any], value: Any) -> list[str]:
    validator = Draft202012Validator(schema)
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.validator} violated"
        for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]


def _pydantic_problems(exc: ValidationError) -> list[str]:
    # include_input=False: Pydantic would otherwise echo the offending (possibly PHI) value.
    return [
        f"{'/'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)
    ]


def validate_answer(
    text: str,
    *,
    output_model: type[M],
    schema: dict[str, Any],
    finish_reason: str | None,
    reasoning_model: bool = False,
    attempts: int = 1,
    record_id: str | None = None,
) -> tuple[M, str | None]:
    """Validate one completion; return (instance, reasoning) or raise an ``OutputError``."""
    value, reasoning = validate_json(
        text,
        schema=schema,
        finish_reason=finish_reason,
        reasoning_model=reasoning_model,
        attempts=attempts,
        record_id=record_id,
    )
    try:
        instance = output_model.model_validate(value)
    except ValidationError as exc:
        raise OutputValidationError(
            f"the answer breaks {output_model.__name__}",
            raw=split_reasoning(text)[1] if reasoning_model else text,
            problems=_pydantic_problems(exc),
            reasoning=reasoning,
            finish_reason=finish_reason,
            attempts=attempts,
            record_id=record_id,
        ) from None
    return instance, reasoning


def validate_json(
    text: str,
    *,
    schema: dict[str, Any],
    finish_reason: str | None,
    reasoning_model: bool = False,
    attempts: int = 1,
    record_id: str | None = None,
) -> tuple[Any, str | None]:
    """Validate one completion against a JSON Schema only; return (parsed JSON, reasoning)."""
    reasoning: str | None = None
    answer = text
    common: dict[str, Any] = {
        "finish_reason": finish_reason,
        "attempts": attempts,
        "record_id": record_id,
    }
    if reasoning_model:
        reasoning, answer, closed = split_reasoning(text)
        if not closed:
            raise ThinkingBudgetError(
                "the model was still thinking when the token budget ran out"
                if finish_reason == "length"
                else "the model never closed </think>, so there is no answer",
                raw=text,
                reasoning=reasoning,
                **common,
            )
    if finish_reason == "length":
        raise TruncatedOutputError(
            "the answer was cut off at max_tokens before it was complete",
            raw=answer,
            reasoning=reasoning,
            **common,
        )
    try:
        value = strict_json_loads(answer)
    except ValueError as exc:
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise OutputParseError(
            "the answer is not valid JSON",
            raw=answer,
            problems=[problem],
            reasoning=reasoning,
            **common,
        ) from None
    problems = _schema_problems(schema, value)
    if problems:
        raise OutputValidationError(
            "the answer breaks the JSON Schema",
            raw=answer,
            problems=problems,
            reasoning=reasoning,
            **common,
        )
    return value, reasoning
