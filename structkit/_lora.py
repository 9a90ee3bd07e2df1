"""A LoRA adapter folder (``structkit tune TASK DATA --kinds lora``), read and checked.

The folder: ``manifest.json`` (format, task, kind ``lora``, the base model's GGUF sha256, the
training data's sha256, the settings, validation losses, structkit version, host, every file's
sha256), ``peft/`` (the PEFT form vLLM loads) and ``adapter.gguf`` (the llama.cpp form). No
pickle; the weights are safetensors and GGUF. A folder without a manifest, with a file missing
or altered, for another task or base model is an :class:`~structkit.AdapterError` naming it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._engine import LoraAdapter
from ._errors import AdapterError
from ._heads import MANIFEST, checked_manifest, file_sha256

__all__ = ["GGUF_FILE", "LORA_FORMAT", "PEFT_FOLDER", "is_lora", "read_lora"]

LORA_FORMAT = 1
PEFT_FOLDER = "peft"
GGUF_FILE = "adapter.gguf"
_REQUIRED = (f"{PEFT_FOLDER}/adapter_config.json", f"{PEFT_FOLDER}/adapter_model.safetensors")


def is_lora(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder``'s manifest says it is a LoRA (anything unreadable: not one)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == "lora"


def read_lora(folder: str | os.PathLike[str], *, task: str) -> LoraAdapter:
    """The checked LoRA adapter for ``task`` in ``folder``.

    Raises:
        AdapterError: no manifest, a file missing or altered, another task, kind, format or
            base model, or a PEFT config that is not a LoRA of the listed rank.
    """
    path, manifest = checked_manifest(
        folder,
        task=task,
        kinds=("lora",),
        format=LORA_FORMAT,
        model_kinds=("lora",),
        required=_REQUIRED,
        what="LoRA",
    )
    try:
        config = json.loads((path / _REQUIRED[0]).read_text(encoding="utf-8"))
        rank = int(config["r"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AdapterError(f"adapter {str(path)!r}: {_REQUIRED[0]} is not a LoRA config") from exc
    sha256 = file_sha256(path / MANIFEST)
    gguf = path / GGUF_FILE
    return LoraAdapter(
        name=f"{task}-lora-{sha256[:12]}",
        peft=(path / PEFT_FOLDER).resolve(),
        gguf=gguf.resolve() if GGUF_FILE in manifest["files"] else None,
        sha256=sha256,
        rank=rank,
    )
