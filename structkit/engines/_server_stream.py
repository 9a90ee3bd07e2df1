"""Streaming from the server engine: the event type and the SSE parsing.

:meth:`ServerEngine.stream` reads the server-sent events of one request with :func:`_sse_data`,
collects them in a :class:`_StreamState` and yields :class:`StreamEvent` values. Running a task
while streaming is :func:`structkit.stream_task` (the runner's own pipeline, observed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

from .._engine import Completion
from ._server_wire import assemble_text

__all__ = ["StreamEvent"]


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
