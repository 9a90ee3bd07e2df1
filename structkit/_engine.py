"""The engine contract: what every backend (embedded vLLM, fake, later a server) must provide.

Engines take a batch of :class:`GenerationRequest` and return one :class:`Completion` per request,
in order, in a single call, so that engines that batch (vLLM) see the whole batch at once. A
failure of one request is reported in that request's completion (``error``), never by raising for
the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from ._profiles import ModelProfile

__all__ = [
    "Completion",
    "Engine",
    "EngineWrapper",
    "GenerationRequest",
    "LoraAdapter",
    "Message",
    "ToolCall",
    "refuse_tools",
]

Message = dict[str, str]


@dataclass(frozen=True)
class LoraAdapter:
    """A LoRA adapter of the default model a request is answered with (``structkit tune
    --kinds lora``), in the forms the engines load: ``peft`` (a PEFT folder: vLLM's
    ``LoRARequest``) and ``gguf`` (llama.cpp's LoRA file, applied to the shipped Q4 GGUF as it
    is). A server serves it under ``name`` (``vllm serve --lora-modules NAME=PEFT_FOLDER``)."""

    name: str
    """The served name, unique per adapter: ``<task>-lora-<first 12 hex of its sha256>``."""
    peft: Path
    gguf: Path | None
    sha256: str
    """The adapter's identity: its manifest's sha256 (which pins every file's)."""
    rank: int


@dataclass(frozen=True)
class GenerationRequest:
    """One conversation to complete, with its decoding constraints."""

    messages: list[Message]
    json_schema: dict[str, Any] | None
    """The answer must match this schema (``None``: unconstrained)."""
    max_tokens: int
    temperature: float
    top_p: float = 1.0
    seed: int | None = None
    thinking_budget: int | None = None
    """For reasoning models: tokens allowed before ``</think>`` is forced."""
    tools: list[dict[str, Any]] | None = None
    """OpenAI function-tool definitions the model may call (``ServerEngine`` passes them to an
    OpenAI-compatible server; the embedded engines refuse them). Not with ``json_schema``."""
    tool_choice: str | dict[str, Any] | None = None
    """OpenAI ``tool_choice``: ``"auto"``, ``"required"``, ``"none"`` or a named function
    (``{"type": "function", "function": {"name": ...}}``). A named call to a ``"strict": true``
    function is decoded under its parameter schema, so it is well-formed even for a model with no
    tool format (vLLM's hermes parser pins the arguments only for strict functions)."""
    adapter: LoraAdapter | None = None
    """Answer with this LoRA adapter on the engine's base model (``None``: the base model)."""


@dataclass(frozen=True)
class Completion:
    """What the engine produced for one request."""

    text: str
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    """Set when the engine failed this request; ``text`` is then empty."""
    metrics: dict[str, float] = field(default_factory=dict)
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The functions the model called (requests with ``tools``), in order."""


@dataclass(frozen=True)
class ToolCall:
    """One function call a model made: its name and its arguments as the JSON text it wrote."""

    id: str
    name: str
    arguments: str


@runtime_checkable
class Engine(Protocol):
    """A model runner. ``profile`` carries the model's defaults (temperature, reasoning, ...)."""

    @property
    def model_name(self) -> str: ...

    @property
    def profile(self) -> ModelProfile: ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """Complete every request; one completion per request, in order."""
        ...

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes for this model."""
        ...


class _Model(Protocol):
    """What names a model and counts its tokens, generating or not."""

    @property
    def model_name(self) -> str: ...

    @property
    def profile(self) -> ModelProfile: ...

    def count_tokens(self, text: str) -> int: ...


_Wrapped = TypeVar("_Wrapped", bound=_Model)


class EngineWrapper(Generic[_Wrapped]):
    """An engine that stands for another: the model's name, profile and token count are the
    wrapped engine's, so a wrapper that only changes how requests are generated (streams them,
    records completions) writes ``generate`` alone."""

    def __init__(self, engine: _Wrapped) -> None:
        self._engine = engine

    @property
    def model_name(self) -> str:
        return self._engine.model_name

    @property
    def profile(self) -> ModelProfile:
        return self._engine.profile

    def count_tokens(self, text: str) -> int:
        return self._engine.count_tokens(text)


def refuse_tools(requests: Sequence[GenerationRequest], engine: str) -> None:
    """Engines that cannot pass tools on refuse them, rather than silently answering without."""
    if any(request.tools for request in requests):
        from ._errors import ConfigurationError

        raise ConfigurationError(
            f"{engine} does not take tools; use ServerEngine with an OpenAI-compatible server "
            "(e.g. vllm serve ... --enable-auto-tool-choice --tool-call-parser hermes)"
        )
