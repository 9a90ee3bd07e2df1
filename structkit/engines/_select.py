"""Which engine runs a model: the one place that reads ``STRUCTKIT_ENGINE`` and the platform.

Order: an explicit choice (``engine="llama.cpp"``, ``--engine``), else ``STRUCTKIT_ENGINE``, else
the platform default: vLLM on GPU machines; on CPU-only machines llama.cpp for GGUF models (the
packaged default is one), measured faster there (README, "Engines"), and vLLM for Hugging Face
folders and ids, which llama.cpp cannot load.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .._config import default_model, env, gpus_hidden
from .._errors import ConfigurationError
from .._profiles import DEFAULT_MODEL

if TYPE_CHECKING:
    from ._base import Engine

__all__ = ["ENGINE_NAMES", "choose_engine", "engine_named", "new_engine"]

ENGINE_NAMES = ("llama.cpp", "vllm")
_ALIASES = {"llama.cpp": "llama.cpp", "llamacpp": "llama.cpp", "llama-cpp": "llama.cpp"}

ModelArg = str | os.PathLike[str] | None


def _normalized(name: str) -> str:
    key = name.strip().lower()
    if key == "vllm":
        return "vllm"
    if key in _ALIASES:
        return _ALIASES[key]
    raise ConfigurationError(f"unknown engine {name!r}; one of {', '.join(ENGINE_NAMES)}")


def has_gpu() -> bool:
    """True when an NVIDIA GPU is visible (checked without importing torch)."""
    if gpus_hidden():
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return (gpus.is_dir() and any(gpus.iterdir())) or shutil.which("nvidia-smi") is not None


def _is_gguf(model: ModelArg) -> bool:
    chosen = str(model) if model is not None else default_model()
    if chosen == DEFAULT_MODEL:
        return True
    path = Path(chosen).expanduser()
    return path.suffix == ".gguf" or (path.is_dir() and any(path.glob("*.gguf")))


def choose_engine(requested: str | None, model: ModelArg) -> str:
    """The engine name for ``model``: ``requested``, else ``STRUCTKIT_ENGINE``, else by platform.

    Raises:
        ConfigurationError: an unknown engine name.
    """
    chosen = requested or env("STRUCTKIT_ENGINE") or ""
    if chosen:
        return _normalized(chosen)
    if has_gpu():
        return "vllm"
    if _is_gguf(model) and importlib.util.find_spec("xllamacpp") is not None:
        return "llama.cpp"
    return "vllm"


def engine_named(requested: str | None, model: ModelArg) -> Engine:
    """The process-wide engine chosen by :func:`choose_engine` (started lazily, then reused)."""
    if choose_engine(requested, model) == "llama.cpp":
        from ._llamacpp import get_llamacpp_engine

        return get_llamacpp_engine(model)
    from ._vllm import get_engine  # heavy imports only when a real engine is needed

    return get_engine(model)


def new_engine(requested: str | None, model: ModelArg) -> Engine:
    """A fresh engine of the chosen kind (for callers that close it after use)."""
    if choose_engine(requested, model) == "llama.cpp":
        from ._llamacpp import LlamaCppEngine

        return LlamaCppEngine(model)
    from ._vllm import VLLMEngine

    return VLLMEngine(model)
