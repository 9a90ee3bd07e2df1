"""Which engine runs a model: the one place that reads ``STRUCTKIT_ENGINE`` and the platform.

Order: an explicit choice (``engine="llama.cpp"``, ``--engine``), else ``STRUCTKIT_ENGINE``, else
the platform default: vLLM on GPU machines, and vLLM for Hugging Face folders and ids, which
llama.cpp cannot load. On CPU-only machines with a GGUF model (the packaged default is one) the
size of the job decides, because the two engines trade start-up for throughput (README,
"Engines"): llama.cpp starts in seconds, vLLM in ~1-2 minutes but then answered the shipped
diagnosis questions 2.3-4x faster on our 2-core hosts. A job of ``STRUCTKIT_VLLM_FROM_RECORDS``
records or more (default 100: the start is paid back after ~30, a first start takes longer) goes
to vLLM, a smaller or unknown one to llama.cpp. Once a default engine is chosen for a model, the
process keeps it: one engine per process, never a second start because a later job is larger.
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

__all__ = [
    "ENGINE_NAMES",
    "choose_engine",
    "engine_named",
    "new_engine",
    "resolve_engine",
    "vllm_from_records",
]

ENGINE_NAMES = ("llama.cpp", "vllm")
_ALIASES = {"llama.cpp": "llama.cpp", "llamacpp": "llama.cpp", "llama-cpp": "llama.cpp"}

ModelArg = str | os.PathLike[str] | None

# Where vLLM's start on CPU is paid back by its higher throughput on the shipped questions
# (README "Engines", warm compile cache): on a 2-core AVX2 EPYC llama.cpp gave 0.255 records/s
# after a 2.5 s start and vLLM 0.591 after 76 s (break-even n ~ 33); on a 2-core AVX-512 EPYC
# 0.401 after 2.1 s against 1.609 (bfloat16) after 51 s (n ~ 26). A first start also converts
# and compiles the model (~2 min), so the default leaves a margin.
_VLLM_FROM_RECORDS = 100

# model -> the engine the platform rule picked first in this process (explicit choices aside)
_PLATFORM_CHOICE: dict[str, str] = {}


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


def vllm_from_records() -> int:
    """Jobs of this many records or more default to vLLM on CPU (``STRUCTKIT_VLLM_FROM_RECORDS``).

    Raises:
        ConfigurationError: the variable is not a positive integer.
    """
    raw = env("STRUCTKIT_VLLM_FROM_RECORDS")
    if raw is None:
        return _VLLM_FROM_RECORDS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(f"STRUCTKIT_VLLM_FROM_RECORDS must be a positive integer: {raw!r}")
    return value


def choose_engine(requested: str | None, model: ModelArg, *, records: int | None = None) -> str:
    """The engine name for ``model``: ``requested``, else ``STRUCTKIT_ENGINE``, else by platform
    and, on CPU-only machines, by the job's size (``records``; ``None`` when not known).

    Raises:
        ConfigurationError: an unknown engine name.
    """
    chosen = requested or env("STRUCTKIT_ENGINE") or ""
    if chosen:
        return _normalized(chosen)
    if has_gpu():
        return "vllm"
    if not _is_gguf(model) or importlib.util.find_spec("xllamacpp") is None:
        return "vllm"
    kept = _PLATFORM_CHOICE.get(_model_key(model))
    if kept is not None:
        return kept
    large = records is not None and records >= vllm_from_records()
    return "vllm" if large and importlib.util.find_spec("vllm") is not None else "llama.cpp"


def _model_key(model: ModelArg) -> str:
    return str(model) if model is not None else default_model()


def engine_named(requested: str | None, model: ModelArg, *, records: int | None = None) -> Engine:
    """The process-wide engine chosen by :func:`choose_engine` (started lazily, then reused)."""
    name = choose_engine(requested, model, records=records)
    if not (requested or env("STRUCTKIT_ENGINE")):
        _PLATFORM_CHOICE.setdefault(_model_key(model), name)  # the process keeps its default
    if name == "llama.cpp":
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


def resolve_engine(
    *,
    engine: Engine | str | None = None,
    model: ModelArg = None,
    records: int | None = None,
    fresh: bool = False,
) -> Engine:
    """The engine a call runs on: the one front door for the API, batch, eval and the servers.

    An engine object is used as given. Without a name, ``STRUCTKIT_SERVER_URL`` selects a
    server engine; otherwise the engine is chosen by name, ``STRUCTKIT_ENGINE`` or the platform
    (:func:`choose_engine`, where ``records`` is the job's size, None when not known).

    Args:
        fresh: a new engine the caller owns and closes (``structkit eval`` closes each model's
            engine before loading the next) instead of the process-wide one.
    """
    if engine is not None and not isinstance(engine, str):
        return engine
    if engine is None:
        from ._server_env import engine_from_env, server_engine_from_env

        server = (server_engine_from_env if fresh else engine_from_env)(
            None if model is None else str(model)
        )
        if server is not None:
            return server
    if fresh:
        return new_engine(engine, model)
    return engine_named(engine, model, records=records)
