"""Run a task on one record while streaming the model's text as it is generated.

There is one pipeline: :func:`stream_task` runs :func:`structkit.run`'s own
:func:`~structkit._runner.run_task` and only *observes* the engine, sending each request through
the engine's ``stream`` instead of ``generate`` and passing the text deltas on. So loading,
budgets, prompts, grounding, question mode, validation, merging and post-processing are exactly
those of a batch run. One sample is drawn per request (no resampling: the text has been shown).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from ._engine import Completion, EngineWrapper, GenerationRequest, _Model
from ._outcome import Outcome
from ._runner import run_task
from ._task import Task, get_task
from .engines._server_stream import StreamEvent

__all__ = ["StreamEvent", "stream_task"]


class StreamingEngine(_Model, Protocol):
    """An engine that can stream one request (e.g. :class:`~structkit.ServerEngine`)."""

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]: ...


class _Tap(EngineWrapper[StreamingEngine]):
    """Looks like a batch engine to the runner; streams each request and reports the deltas."""

    def __init__(self, engine: StreamingEngine, events: queue.Queue[Any]):
        super().__init__(engine)
        self._events = events

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        done: list[Completion] = []
        for request in requests:  # one at a time: a stream's deltas must not interleave
            completion = Completion(text="", finish_reason=None, error="the stream ended early")
            for event in self._engine.stream(request):
                if event.kind == "done":
                    assert isinstance(event.data, Completion)
                    completion = event.data
                else:
                    self._events.put(event)
            done.append(completion)
        return done


_FINISHED = object()


def stream_task(
    task: str | Task[Any],
    record: Any,
    *,
    engine: StreamingEngine,
    record_id: str | None = None,
    **options: Any,
) -> Iterator[StreamEvent]:
    """Run a task on one record, streaming: text deltas, then ``("result", validated model)``.

    ``task`` is a registered name or a :class:`~structkit.Task`; ``options`` are
    :class:`~structkit.RunOptions` (except ``engine``/``model``, ``samples``, ``max_attempts``).

    Raises:
        InputError: the record cannot be read or does not fit.
        OutputError: the answer is truncated, not JSON or invalid (``EngineRequestError`` when
            the server failed the request).
    """
    chosen: Task[Any] = get_task(task) if isinstance(task, str) else task
    events: queue.Queue[Any] = queue.Queue()
    result: list[Outcome[Any] | BaseException] = []

    def work() -> None:
        try:
            (outcome,) = run_task(
                chosen,
                [record],
                engine=_Tap(engine, events),
                record_ids=None if record_id is None else [record_id],
                samples=1,
                max_attempts=1,
                **options,
            )
            result.append(outcome)
        except BaseException as exc:  # re-raised in the caller's thread below
            result.append(exc)
        finally:
            events.put(_FINISHED)

    worker = threading.Thread(target=work, name="structkit-stream", daemon=True)
    worker.start()
    while (event := events.get()) is not _FINISHED:
        yield event
    worker.join()
    (finished,) = result
    if isinstance(finished, BaseException):
        raise finished
    if finished.error is not None:
        raise finished.error
    yield StreamEvent("result", finished.unwrap())
