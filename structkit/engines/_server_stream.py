"""Streaming from the server engine: the event type, the SSE parsing and :func:`stream_task`.

:meth:`ServerEngine.stream` reads the server-sent events of one request with :func:`_sse_data`,
collects them in a :class:`_StreamState` and yields :class:`StreamEvent` values; :func:`stream_task`
runs a task on one record through it, as :func:`structkit.run` would, and ends with the validated
answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel

from .._errors import EngineRequestError
from ._base import Completion, GenerationRequest
from ._server_wire import assemble_text

if TYPE_CHECKING:
    from ._server_engine import ServerEngine

__all__ = ["StreamEvent", "stream_task"]


class StreamEvent(NamedTuple):
    """One streamed event: ``("reasoning", str)``, ``("answer", str)``, ``("done", Completion)``
    from :meth:`ServerEngine.stream`; :func:`stream_task` ends with ``("result", model)``."""

    kind: Literal["reasoning", "answer", "done", "result"]
    data: str | Completion | BaseModel


class _StreamState:
    """Collects one streamed answer."""

    def __init__(self) -> None:
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.emitted = False
        self.started = time.monotonic()

    def feed(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning") or delta.get("reasoning_content")
            if thought:
                self.reasoning.append(thought)
                yield StreamEvent("reasoning", thought)
            if delta.get("content"):
                self.content.append(delta["content"])
                yield StreamEvent("answer", delta["content"])
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def completion(self, reasoning_model: bool) -> Completion:
        reasoning = "".join(self.reasoning) if self.reasoning else None
        return Completion(
            text=assemble_text(reasoning, "".join(self.content), reasoning_model=reasoning_model),
            finish_reason=self.finish_reason,
            prompt_tokens=int(self.usage.get("prompt_tokens") or 0),
            completion_tokens=int(self.usage.get("completion_tokens") or 0),
            metrics={"latency_s": time.monotonic() - self.started},
        )


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data`` payloads of a server-sent event stream."""
    buffer: list[str] = []
    for line in lines:
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
        elif line.startswith("data:"):
            buffer.append(line[5:].removeprefix(" "))
    if buffer:
        yield "\n".join(buffer)


# -- tasks ------------------------------------------------------------------------------------


def stream_task(
    task: Any,
    record: Any,
    *,
    engine: ServerEngine,
    record_id: str | None = None,
    format: str | None = None,
    grounding: bool = True,
    max_tokens: int | None = None,
    temperature: float | None = None,
    thinking_budget: int | None = None,
    seed: int = 0,
) -> Iterator[StreamEvent]:
    """Run a task on one record, streaming: deltas, then ``("result", validated model)``.

    ``task`` is a registered name or a :class:`~structkit.Task`. The record is loaded and
    rendered within the token budget exactly as :func:`structkit.run` does (a record split into
    parts streams its parts one after another, then their answers are merged). One sample is
    drawn per part (no resampling: the text has already been shown).

    Raises:
        InputError: the record cannot be read or does not fit.
        OutputError: the answer is truncated, not JSON or invalid (``EngineRequestError`` when
            the server failed the request).
    """
    from .._runner import _record_budget
    from .._task import Task, get_task
    from .._validate import validate_answer
    from ..adapters._load import load
    from ..adapters._render import fit_to_budget

    chosen: Task[Any] = get_task(task) if isinstance(task, str) else task
    profile = engine.profile
    budget = max_tokens or (chosen.max_tokens or profile.max_tokens) + profile.thinking_tokens
    temp = next(t for t in (temperature, chosen.temperature, profile.temperature) if t is not None)
    loaded = load(record, record_id=record_id)
    rid = record_id or loaded.record_id
    pieces = fit_to_budget(
        loaded,
        budget=_record_budget(chosen, engine, budget),
        count_tokens=engine.count_tokens,
        format=format or chosen.format,
        policy=chosen.overflow,
    )
    values: list[Any] = []
    for index, (piece, text) in enumerate(pieces):
        schema = chosen.schema_for(piece, grounding=grounding)
        request = GenerationRequest(
            messages=chosen.prompt(text, profile=profile),
            json_schema=schema,
            max_tokens=budget,
            temperature=temp,
            top_p=profile.top_p,
            seed=seed + 7919 * index,  # the runner's seed for part ``index``, first attempt
            thinking_budget=thinking_budget,
        )
        for event in engine.stream(request):
            if event.kind != "done":
                yield event
                continue
            done = event.data
            assert isinstance(done, Completion)
            if done.error is not None:
                raise EngineRequestError(f"engine error: {done.error}", record_id=rid)
            value, _ = validate_answer(
                done.text,
                output_model=chosen.output_model,
                schema=schema,
                finish_reason=done.finish_reason,
                reasoning_model=profile.reasoning,
                record_id=rid,
            )
            values.append(value)
    value = values[0] if len(values) == 1 or chosen.merge is None else chosen.merge(values)
    if chosen.postprocess is not None:
        value = chosen.postprocess(value, loaded)
    yield StreamEvent("result", value)
