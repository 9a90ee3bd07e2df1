"""Trained heads as files: the adapter folder every task's head is read from and written to.

An adapter is a folder: ``manifest.json`` (format, task, kind, settings, the base model's
sha256, the training data's sha256 and names, validation figures, structkit version, training
host, and the sha256 of every other file) and ``head.safetensors`` (the weights). No pickle:
loading an adapter runs no code from it. A folder without a manifest, with a file missing or
altered, for another task, kind or format, or (for a head that reads the model) trained on
another base model is an :class:`~structkit.AdapterError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, NotRequired, Protocol, TypedDict, TypeVar

import numpy as np
from typing_extensions import Unpack

from ._errors import AdapterError
from ._prepare import file_sha256

__all__ = [
    "MANIFEST",
    "WEIGHTS",
    "Heads",
    "StoredHead",
    "checked_manifest",
    "file_sha256",
    "fitted_tfidf",
    "lines_sha256",
    "read_head",
    "write_head",
]

MANIFEST = "manifest.json"


def lines_sha256(lines: Iterable[str]) -> str:
    """The sha256 of text lines, each ended by a newline: a training set's fingerprint in a
    manifest (one line per document, in a fixed order)."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(f"{line}\n".encode())
    return digest.hexdigest()


WEIGHTS = "head.safetensors"


def fitted_tfidf(settings: dict[str, Any], vocabulary: list[str], idf: np.ndarray) -> Any:
    """A scikit-learn TF-IDF vectorizer as a head stored it: its settings, vocabulary and idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(**settings, vocabulary=vocabulary)
    vectorizer.idf_ = idf.astype(np.float64)
    return vectorizer


@dataclass(frozen=True)
class StoredHead:
    """A checked adapter folder: its manifest and its weights."""

    folder: Path
    manifest: dict[str, Any]
    tensors: dict[str, np.ndarray]

    @property
    def sha256(self) -> str:
        """The adapter's identity: the sha256 of its manifest (which pins every file's hash)."""
        return file_sha256(self.folder / MANIFEST)


def _manifest(path: Path) -> dict[str, Any]:
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise AdapterError(f"adapter {str(path)!r}: no {MANIFEST} (not an adapter folder)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdapterError(f"adapter {str(path)!r}: {MANIFEST} is not JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise AdapterError(f"adapter {str(path)!r}: {MANIFEST} is not a JSON object")
    return manifest


def checked_manifest(
    folder: str | os.PathLike[str],
    *,
    task: str,
    kinds: tuple[str, ...],
    format: int,
    model_kinds: tuple[str, ...] = (),
    required: tuple[str, ...] = (WEIGHTS,),
    what: str = "head",
) -> tuple[Path, dict[str, Any]]:
    """The manifest of an adapter folder for ``task`` (one of ``kinds``, manifest ``format``),
    once every file it lists is present with its sha256 and ``required`` files are listed.

    ``model_kinds``: the kinds that read or change the default model; their base model must be
    the default one (the GGUF's sha256 in the manifest).

    Raises:
        AdapterError: no manifest, a file missing or altered (its sha256 differs from the
            manifest's), another task, kind or format, or another base model.
    """
    path = Path(folder)
    manifest = _manifest(path)
    if manifest.get("task") != task or manifest.get("kind") not in kinds:
        raise AdapterError(
            f"adapter {str(path)!r} is a {manifest.get('kind')!r} adapter for task "
            f"{manifest.get('task')!r}, not a {task} {what}"
        )
    if manifest.get("format") != format:
        raise AdapterError(
            f"adapter {str(path)!r}: format {manifest.get('format')!r}, expected {format}"
        )
    files = manifest.get("files")
    missing = [name for name in required if not isinstance(files, dict) or name not in files]
    if not isinstance(files, dict) or missing:
        raise AdapterError(f"adapter {str(path)!r}: the manifest lists no {', '.join(missing)}")
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise AdapterError(f"adapter {str(path)!r}: {name} is missing")
        if file_sha256(file) != expected:
            raise AdapterError(f"adapter {str(path)!r}: {name} is corrupt (sha256 differs)")
    if manifest["kind"] in model_kinds:
        from ._prepare import GGUF_SHA256

        base = manifest.get("base_model", {}).get("gguf_sha256")
        if base != GGUF_SHA256:
            raise AdapterError(
                f"adapter {str(path)!r} was trained on another base model "
                f"(gguf sha256 {str(base)[:12]}..., the default is {GGUF_SHA256[:12]}...)"
            )
    return path, manifest


class HeadChecks(TypedDict):
    """What a head's folder is checked against (the arguments of :func:`checked_manifest`)."""

    task: str
    kinds: tuple[str, ...]
    format: int
    model_kinds: NotRequired[tuple[str, ...]]


def read_head(folder: str | os.PathLike[str], **checks: Unpack[HeadChecks]) -> StoredHead:
    """Read and check a head's adapter folder (see :func:`checked_manifest`) and its weights.

    Raises:
        AdapterError: as :func:`checked_manifest`, or weights that do not load.
    """
    path, manifest = checked_manifest(folder, **checks)
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path / WEIGHTS))
    except Exception as exc:  # safetensors raises its own error types for a bad header
        raise AdapterError(f"adapter {str(path)!r}: {WEIGHTS} does not load ({exc})") from None
    return StoredHead(folder=path, manifest=manifest, tensors=tensors)


def write_head(folder: Path, *, manifest: dict[str, Any], tensors: dict[str, np.ndarray]) -> Path:
    """Write the weights (float64 safetensors) and ``manifest`` with every file's sha256."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    stored = {
        name: np.ascontiguousarray(value, dtype=np.float64) for name, value in tensors.items()
    }
    save_file(stored, str(folder / WEIGHTS))
    manifest = {**manifest, "files": {WEIGHTS: file_sha256(folder / WEIGHTS)}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return folder


class _Head(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def sha256(self) -> str: ...


H = TypeVar("H", bound=_Head)


class Heads(Generic[H]):
    """A task's heads, loaded (and checked) on first use: the one ``adapter`` folder given, or
    the package's shipped head of each kind. ``modes``: which head kind each mode uses."""

    def __init__(
        self,
        adapter: str | os.PathLike[str] | None,
        *,
        load: Callable[[Path], H],
        shipped: Callable[[str], Path],
        modes: Mapping[str, str],
    ):
        self._given = Path(adapter) if adapter is not None else None
        self._load, self._shipped, self.modes = load, shipped, dict(modes)
        self._loaded: dict[str, H] = {}
        self._lock = threading.Lock()

    def folder(self, kind: str) -> Path:
        return self._given if self._given is not None else self._shipped(kind)

    def get(self, kind: str) -> H:
        with self._lock:
            if kind not in self._loaded:
                self._loaded[kind] = self._load(self.folder(kind))
            return self._loaded[kind]

    def for_mode(self, mode: str) -> H:
        return self.get(self.modes[mode])

    def given_kind(self) -> str | None:
        """The kind of the adapter given (checked now: a bad adapter fails early), else None."""
        if self._given is None:
            return None
        return self.get(next(iter(self.modes.values()))).kind

    def audit(self, mode: str) -> dict[str, Any] | None:
        """What the audit record names of the head a mode uses (``None``: it uses none)."""
        if mode not in self.modes:
            return None
        head = self.for_mode(mode)
        return {
            "kind": head.kind,
            "path": str(self.folder(self.modes[mode])),
            "sha256": head.sha256,
        }
