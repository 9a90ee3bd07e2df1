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
from .._profiles import ModelProfile, profile_for

__all__ = ["FakeEngine"]

Responder = Callable[[GenerationRequest], "str | Completion"]


class FakeEngine:
    """Engine that answers with a user-supplied function and records every request."""

    def __init__(
        self,
        responder: Responder,
        *,
        model_name: str = "fake-model",
        profile: ModelProfile | None = None,
    ):
        self._responder = responder
        self._model_name = model_name
        self._profile = profile or profile_for(model_name)
        self.calls: list[list[GenerationRequest]] = []
        """Each ``generate`` call's requests, so tests can assert batching and prompts."""

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def profile(self) -> ModelProfile:
        return self._profile

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
