"""Every environment variable structkit reads, in one place, with what it means.

Modules ask :func:`env` for a variable by name instead of reading ``os.environ`` themselves, so
this table is the whole list (a name missing from it is a programming error, caught in tests),
and a value that is set but blank counts as unset.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ._profiles import DEFAULT_MODEL

__all__ = [
    "ENVIRONMENT",
    "EnvVar",
    "cache_root",
    "default_model",
    "env",
    "gpus_hidden",
    "write_cached",
]


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name and what it does."""

    name: str
    meaning: str


ENVIRONMENT: dict[str, EnvVar] = {
    v.name: v
    for v in (
        EnvVar("STRUCTKIT_MODEL", f"the model to use (default: {DEFAULT_MODEL})"),
        EnvVar("STRUCTKIT_ENGINE", "the engine: llama.cpp or vllm (default: by platform)"),
        EnvVar("STRUCTKIT_SERVER_URL", "use an OpenAI-compatible server instead of an engine"),
        EnvVar("STRUCTKIT_SERVER_MODEL", "the model name to ask that server for"),
        EnvVar(
            "STRUCTKIT_SERVER_SEEDS",
            "per-request seeds to that server: auto (default), on or off",
        ),
        EnvVar("STRUCTKIT_API_KEY", "the server's API key (else OPENAI_API_KEY)"),
        EnvVar("OPENAI_API_KEY", "the server's API key, when STRUCTKIT_API_KEY is not set"),
        EnvVar("STRUCTKIT_VIA", "send task commands to a running structkit serve at this URL"),
        EnvVar("STRUCTKIT_TEMPLATE_PATH", "extra template folders, os.pathsep-separated"),
        EnvVar(
            "STRUCTKIT_CACHE_DIR",
            "where prepared models and derived tables (ICD-10-CM) are kept",
        ),
        EnvVar("STRUCTKIT_KV_CACHE_GIB", "vLLM on CPU: KV cache size in GiB"),
        EnvVar("STRUCTKIT_LLAMACPP_THREADS", "llama.cpp: threads (default: the usable cores)"),
        EnvVar(
            "STRUCTKIT_VLLM_FROM_RECORDS",
            "CPU only: jobs of this many records or more default to vLLM (default: 100)",
        ),
        EnvVar("CUDA_VISIBLE_DEVICES", "blank or -1 hides every GPU: engines are chosen as on CPU"),
    )
}


def env(name: str) -> str | None:
    """The value of a known environment variable, or ``None`` when it is unset or blank."""
    if name not in ENVIRONMENT:
        raise KeyError(f"{name} is not one of structkit's environment variables")
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def default_model() -> str:
    """The model used when none is given: ``STRUCTKIT_MODEL``, else the packaged default."""
    return env("STRUCTKIT_MODEL") or DEFAULT_MODEL


def cache_root() -> Path:
    """Where structkit keeps what it derives once per machine: ``STRUCTKIT_CACHE_DIR``, else the
    user's cache folder."""
    folder = env("STRUCTKIT_CACHE_DIR")
    if folder:
        return Path(folder)
    import platformdirs

    return Path(platformdirs.user_cache_dir("structkit"))


def write_cached(path: Path, text: str) -> None:
    """Write a file under :func:`cache_root` whole or not at all: written beside and renamed,
    so another process never reads half of it; a cache that cannot be written is skipped, as it
    only costs the next process the work again."""
    # one temporary name per process and thread: two writers never share a half-written file
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):  # e.g. the folder is a file: there is no tmp either
            tmp.unlink()


def gpus_hidden() -> bool:
    """Whether ``CUDA_VISIBLE_DEVICES`` hides every GPU (set to blank or ``-1``).

    Not read through :func:`env`: for CUDA a blank value is a setting (no GPU), not unset.
    """
    return os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1")
