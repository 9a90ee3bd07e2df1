"""Streaming from the server engine: the event type and the SSE parsing.

:meth:`ServerEngine.stream` reads the server-sent events of one request with :func:`_sse_data`,
collects them in a :class:`_StreamState` and yields :class:`StreamEvent` values. Running a task
while streaming is :func:`structkit.stream_task` (the runner's own pipeline, observed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

import httpx
from pydantic import BaseModel

from .._engine import Completion
from ._server_wire import _ERROR_CHARS, _classify, _Failure, assemble_text

__all__ = ["StreamEvent", "stream_chunks"]


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


def stream_chunks(
    client: httpx.Client, url: str, payload: dict[str, Any], state: _StreamState
) -> Iterator[StreamEvent]:
    """POST one streaming chat request and yield its text deltas, fed through ``state``; a
    failure is a ``_Failure`` of the kind the retry policy reads (outage or fatal)."""
    with client.stream("POST", url, json=payload) as response:
        if response.status_code != 200:
            response.read()
            raise _classify(response)
        for data in _sse_data(response.iter_lines()):
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                raise _Failure("the stream sent invalid JSON", kind="fatal") from None
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk:
                error = chunk["error"] or {}
                code = error.get("code") if isinstance(error, dict) else None
                kind: Literal["outage", "fatal"] = "outage" if code in (502, 503) else "fatal"
                raise _Failure(f"stream error: {str(error)[:_ERROR_CHARS]}", kind=kind)
            for event in state.feed(chunk):
                state.emitted = True
                yield event
    if state.finish_reason is None:
        raise _Failure("the stream ended before the answer was finished", kind="outage")
    if state.finish_reason == "abort":
        raise _Failure("request aborted (server shutting down)", kind="outage")
