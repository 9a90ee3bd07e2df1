"""The host's CPU as /proc/cpuinfo names it: its model, feature flags, and the dtype the CPU
computes natively. One reader for the engines (vLLM's dtype), the model's hidden states, LoRA
training and the manifests that name the host of their figures."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["cpu_dtype", "cpu_flags", "cpu_model", "host"]

_CPUINFO = "/proc/cpuinfo"
#: The flags that decide a dtype or explain a speed (named in manifests and figures).
NOTED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def _first(key: str) -> str | None:
    try:
        with open(_CPUINFO, encoding="ascii", errors="replace") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_flags() -> set[str]:
    """The CPU feature flags of this host (empty where /proc/cpuinfo is not readable)."""
    return set((_first("flags") or "").split())


def cpu_model() -> str:
    return _first("model name") or "unknown"


def cpu_dtype(flags: set[str] | None = None) -> str:
    """bfloat16 where the CPU computes it natively (AMX or AVX512-BF16), float32 elsewhere.

    Measured on the shipped diagnosis questions (vLLM): bfloat16 was 1.7x faster than float32
    on an AMD EPYC with AVX512-BF16 and no AMX, ~1.4x on a Xeon with AMX, ~3x slower on an
    AVX2-only EPYC (PyTorch emulates it there).
    """
    flags = cpu_flags() if flags is None else flags
    return "bfloat16" if {"amx_bf16", "avx512_bf16"} & flags else "float32"


def host() -> dict[str, Any]:
    """The CPU model, its cores and the noted flags (training figures name their host)."""
    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "flags": [f for f in NOTED_FLAGS if f in flags],
    }
