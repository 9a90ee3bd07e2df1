"""Find and show the source of a results line, confined to the folders the reviewer allowed.

A batch line's audit names its input (``audit.input``): a folder (the record is the file
``<folder>/<id>``) or a single .json/.xml/.csv/.md/.txt file. ``--source`` overrides it. Ids are
data: an id like ``../../etc/passwd`` resolves outside the source folder and is refused, as is
any path outside the results' folder and the source folders (:class:`Sandbox`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._errors import InputError
from ..adapters._load import load
from ..adapters._record import Record
from ..batch import DIR_SUFFIXES

__all__ = ["Sandbox", "source_path", "source_view"]


class Sandbox:
    """The folders files may be read from: the results' folder and the source folders."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = list(dict.fromkeys(r.resolve() for r in roots))

    def allows(self, path: Path) -> bool:
        real = path.resolve()
        return any(real == root or real.is_relative_to(root) for root in self.roots)

    def add(self, root: Path) -> None:
        real = root.resolve()
        if real not in self.roots:
            self.roots.append(real)


def source_root(line: dict[str, Any], override: Path | None) -> Path | None:
    """The input the line's batch read: ``override``, else the audit's ``input``."""
    if override is not None:
        return override
    audit = line.get("audit")
    recorded = audit.get("input") if isinstance(audit, dict) else None
    return Path(recorded) if isinstance(recorded, str) and recorded else None


def source_path(line: dict[str, Any], root: Path | None, sandbox: Sandbox) -> Path | None:
    """The file holding the line's record, or None (unknown, missing or outside the sandbox)."""
    if root is None:
        return None
    rid = str(line.get("id", ""))
    if root.is_dir():
        candidate = root / rid
        if not candidate.resolve().is_relative_to(root.resolve()):
            return None  # an id such as "../x" names a file outside its own source folder
    elif root.is_file() and root.suffix.lower() in DIR_SUFFIXES and rid == root.name:
        candidate = root
    else:  # a CSV/JSONL batch source: its rows are not files of their own
        return None
    if not candidate.is_file() or not sandbox.allows(candidate):
        return None
    return candidate


def _cell(value: Any) -> dict[str, str]:
    return {"t": value.text, "p": value.pointer}


def record_view(record: Record) -> dict[str, Any]:
    """A JSON view of a record for the page: text, or sections of values and tables."""
    if record.source_text is not None:
        return {"kind": record.kind, "text": record.source_text}
    sections = [
        {
            "title": s.title,
            "values": [{"k": v.key, "t": v.text, "p": v.pointer} for v in s.values],
            "columns": list(s.columns),
            "rows": [[_cell(v) for v in row] for row in s.rows],
        }
        for s in record.sections
    ]
    return {"kind": record.kind, "sections": sections}


def source_view(path: Path | None, *, record_id: str) -> dict[str, Any]:
    """The source of one record for the page, or why it cannot be shown (never its content)."""
    if path is None:
        return {"kind": "missing", "problem": "the source of this record is not available"}
    try:
        view = record_view(load(path, record_id=record_id))
    except InputError as exc:
        return {"kind": "missing", "problem": f"the source cannot be read: {type(exc).__name__}"}
    except (OSError, ValueError) as exc:
        return {"kind": "missing", "problem": f"the source cannot be read: {type(exc).__name__}"}
    view["file"] = path.name
    return view
