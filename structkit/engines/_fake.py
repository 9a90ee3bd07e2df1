"""An in-process engine for tests: no model, deterministic, scriptable.

Like httpx's ``MockTransport``, it ships with the library so users can test their own pipelines
without loading a model::

    engine = FakeEngine(lambda request: '{"summary": "...", ...}')
    structkit.diagnose(record, engine=engine)

The responder receives each :class:`GenerationRequest` and returns either the answer text or a
full :class:`Completion` (to simulate truncation or engine errors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._engine import Completion, GenerationRequest
from .._profiles import ModelProfile
from ._embedded import NamedEngine

__all__ = ["FakeEngine"]

Responder = Callable[[GenerationRequest], "str | Completion"]


class FakeEngine(NamedEngine):
    """Engine that answers with a user-supplied function and records every request."""

    def __init__(
        self,
        responder: Responder,
        *,
        model_name: str = "fake-model",
        profile: ModelProfile | None = None,
    ):
        super().__init__(model_name, profile)
        self._responder = responder
        self.calls: list[list[GenerationRequest]] = []
        """Each ``generate`` call's requests, so tests can assert batching and prompts."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        self.calls.append(list(requests))
        results: list[Completion] = []
        for request in requests:
            answer = self._responder(request)
            if isinstance(answer, Completion):
                results.append(answer)
            else:
                results.append(
                    Completion(
                        text=answer,
                        finish_reason="stop",
                        prompt_tokens=self.count_tokens(_prompt_text(request)),
                        completion_tokens=self.count_tokens(answer),
                    )
                )
        return results

    def count_tokens(self, text: str) -> int:
        # Roughly one token per word piece; good enough for budget logic in tests.
        return max(1, len(text) // 4) if text else 0


def _prompt_text(request: GenerationRequest) -> str:
    return "\n".join(m["content"] for m in request.messages)
