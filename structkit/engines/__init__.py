"""Engines run models. ``VLLMEngine`` is imported lazily: ``import structkit`` needs no vLLM."""

from .._engine import Completion, Engine, GenerationRequest, LoraAdapter, ToolCall
from .._lazy import lazy_attributes
from ._fake import FakeEngine
from ._select import resolve_engine

__all__ = [
    "Completion",
    "Engine",
    "FakeEngine",
    "GenerationRequest",
    "LlamaCppEngine",
    "LoraAdapter",
    "ServerEngine",
    "ServerInfo",
    "StreamEvent",
    "ToolCall",
    "VLLMEngine",
    "engine_from_env",
    "get_engine",
    "resolve_engine",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "LlamaCppEngine": "._llamacpp",
        "VLLMEngine": "._vllm",
        "get_engine": "._vllm",
        "ServerEngine": "._server",
        "ServerInfo": "._server",
        "StreamEvent": "._server",
        "engine_from_env": "._server",
    },
)
