"""Engines run models. ``VLLMEngine`` is imported lazily: ``import structkit`` needs no vLLM."""

from typing import Any

from .._engine import Completion, Engine, GenerationRequest, ToolCall
from ._fake import FakeEngine
from ._select import resolve_engine

__all__ = [
    "Completion",
    "Engine",
    "FakeEngine",
    "GenerationRequest",
    "LlamaCppEngine",
    "ServerEngine",
    "ServerInfo",
    "StreamEvent",
    "ToolCall",
    "VLLMEngine",
    "engine_from_env",
    "get_engine",
    "resolve_engine",
]

_LAZY = {
    "LlamaCppEngine": "_llamacpp",
    "VLLMEngine": "_vllm",
    "get_engine": "_vllm",
    "ServerEngine": "_server",
    "ServerInfo": "_server",
    "StreamEvent": "_server",
    "engine_from_env": "_server",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
