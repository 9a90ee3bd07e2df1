"""Engines run models. ``VLLMEngine`` is imported lazily: ``import structkit`` needs no vLLM."""

from typing import Any

from ._base import Completion, Engine, GenerationRequest
from ._fake import FakeEngine

__all__ = ["Completion", "Engine", "FakeEngine", "GenerationRequest", "VLLMEngine", "get_engine"]


def __getattr__(name: str) -> Any:
    if name in ("VLLMEngine", "get_engine"):
        from . import _vllm

        return getattr(_vllm, name)
    raise AttributeError(name)
