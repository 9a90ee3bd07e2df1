"""A review session: the results file, the reviewer's decisions, and the gold they make.

Decisions are appended to a JSON Lines log (default ``<results>.review.jsonl``), one line per
decision, each written in one ``write()`` and ``fsync``-ed before the page is told it is saved,
so a closed tab or a killed server loses nothing. The last decision per (record, item) wins::

    {"id": "contract-01.txt", "item": "/clauses/0", "action": "accept" | "reject" | "correct",
     "value": <the corrected item> | null, "task": "clauses", "at": "2026-...Z"}

After every decision the gold file (default ``<results>.gold.jsonl``) is rewritten atomically
(temporary file, ``fsync``, rename): one ``{"id", "input", "gold"}`` line per record whose every
model-written item has a decision, the format ``structkit eval TASK GOLD`` reads.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._audit import utc_now
from .._errors import ConfigurationError
from ..batch import read_results
from ._gold import apply_decisions, build_gold
from ._items import TO_REVIEW, Item, decoded_fields, flags_of, split_items
from ._sources import Sandbox, source_path, source_root, source_view

__all__ = ["ACTIONS", "ReviewSession"]

ACTIONS = ("accept", "reject", "correct")


@dataclass
class _Entry:
    line: dict[str, Any]
    task: str | None
    items: list[Item]
    flags: list[str]
    root: Path | None


def _decoded(task: str | None, memo: dict[str, frozenset[str] | None]) -> frozenset[str] | None:
    if task is None:
        return None
    if task not in memo:
        from .._task import get_task

        try:
            memo[task] = decoded_fields(get_task(task).schema)
        except Exception:  # a task this process does not know: items count as the model's
            memo[task] = None
    return memo[task]


class ReviewSession:
    """Everything the app (or the static page) shows and saves."""

    def __init__(
        self,
        results: str | os.PathLike[str],
        *,
        source: str | os.PathLike[str] | None = None,
        task: str | None = None,
        decisions: str | os.PathLike[str] | None = None,
        gold: str | os.PathLike[str] | None = None,
    ) -> None:
        self.results = Path(results).resolve()
        if not self.results.is_file():
            raise ConfigurationError(f"no such results file: {self.results.name}")
        self.folder = self.results.parent
        self.decisions_path = Path(decisions or f"{self.results}.review.jsonl").resolve()
        self.gold_path = Path(gold or f"{self.results}.gold.jsonl").resolve()
        override = Path(source).resolve() if source is not None else None
        self.sandbox = Sandbox([self.folder])
        self._lock = threading.Lock()
        memo: dict[str, frozenset[str] | None] = {}
        self.entries: list[_Entry] = []
        for line in read_results(self.results).values():
            if line.get("status") == "dry-run":
                continue
            recorded = line.get("audit")
            audit: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
            line_task = task or audit.get("task")
            result = line.get("result")
            items = [] if result is None else split_items(result, decoded=_decoded(line_task, memo))
            root = source_root(line, override)
            if root is not None:
                self.sandbox.add(root if root.is_dir() else root.parent)
            flags = flags_of(line, items)
            self.entries.append(_Entry(line, line_task, items, flags, root))
        self.index = {str(e.line["id"]): i for i, e in enumerate(self.entries)}
        self.decided: dict[str, dict[str, dict[str, Any]]] = {}
        self._read_log()

    # ------------------------------------------------------------------ decisions

    def _read_log(self) -> None:
        if not self.decisions_path.exists():
            return
        with self.decisions_path.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n") or not raw.strip():
                    continue  # a partial last line of a killed server
                try:
                    decision = json.loads(raw)
                    self.decided.setdefault(decision["id"], {})[decision["item"]] = decision
                except (ValueError, KeyError, TypeError):
                    continue

    def decide(
        self, *, record_id: str, item: str, action: str, value: Any = None
    ) -> dict[str, Any]:
        """Save one decision durably, then refresh the gold file. Returns the decision.

        Raises:
            ConfigurationError: no such record or item, or an unknown action.
        """
        if record_id not in self.index:
            raise ConfigurationError("no such record")
        entry = self.entries[self.index[record_id]]
        if item not in {i.path for i in entry.items}:
            raise ConfigurationError(f"record {record_id!r}: no such item")
        if action not in ACTIONS:
            raise ConfigurationError(f"action must be one of {ACTIONS}")
        decision = {
            "id": record_id,
            "item": item,
            "action": action,
            "value": value if action == "correct" else None,
            "task": entry.task,
            "at": utc_now(),
        }
        data = (json.dumps(decision, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            fd = os.open(self.decisions_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            self.decided.setdefault(record_id, {})[item] = decision
            self._write_gold()
        return decision

    def _gold_line(self, entry: _Entry) -> dict[str, Any] | None:
        rid = str(entry.line["id"])
        decisions = self.decided.get(rid, {})
        if self.status_of(entry) != "done":
            return None
        path = source_path(entry.line, entry.root, self.sandbox)
        if path is None:
            return None  # gold without its input cannot be evaluated
        reviewed = apply_decisions(entry.line.get("result"), decisions)
        return {
            "id": rid,
            "input": os.path.relpath(path, self.gold_path.parent),
            "gold": build_gold(entry.task, reviewed, decisions),
            "task": entry.task,
        }

    def _write_gold(self) -> None:
        lines = [g for g in map(self._gold_line, self.entries) if g is not None]
        fd, tmp = tempfile.mkstemp(dir=self.gold_path.parent, prefix=f".{self.gold_path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for line in lines:
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.gold_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ views

    def status_of(self, entry: _Entry) -> str:
        """``todo``, ``partial`` or ``done``: every item the model or an adapter decided has a
        decision (every item, when code decided them all)."""
        decisions = self.decided.get(str(entry.line["id"]), {})
        wanted = [i.path for i in entry.items if i.origin in TO_REVIEW] or [
            i.path for i in entry.items
        ]
        done = sum(p in decisions for p in wanted)
        return "done" if wanted and done == len(wanted) else "partial" if decisions else "todo"

    def listing(
        self,
        *,
        offset: int = 0,
        limit: int = 50,
        status: str = "",
        task: str = "",
        flag: str = "",
        review: str = "",
    ) -> dict[str, Any]:
        """One page of records matching the filters (empty filter: any)."""
        rows = []
        for number, entry in enumerate(self.entries):
            if status and entry.line.get("status") != status:
                continue
            if task and entry.task != task:
                continue
            if flag and flag not in entry.flags:
                continue
            state = self.status_of(entry)
            if review and state != review:
                continue
            rows.append(
                {
                    "n": number,
                    "id": str(entry.line["id"]),
                    "status": entry.line.get("status"),
                    "task": entry.task,
                    "flags": entry.flags,
                    "review": state,
                    "items": len(entry.items),
                }
            )
        return {
            "total": len(rows),
            "offset": offset,
            "rows": rows[offset : offset + limit],
            "facets": self.facets(),
        }

    def facets(self) -> dict[str, list[str]]:
        """The values each filter can take."""
        return {
            "status": sorted({str(e.line.get("status")) for e in self.entries}),
            "task": sorted({e.task for e in self.entries if e.task}),
            "flag": sorted({f for e in self.entries for f in e.flags}),
            "review": ["todo", "partial", "done"],
        }

    def record(self, number: int) -> dict[str, Any]:
        """Everything the page shows for record ``number`` (0-based position in the results)."""
        entry = self.entries[number]
        rid = str(entry.line["id"])
        path = source_path(entry.line, entry.root, self.sandbox)
        return {
            "n": number,
            "count": len(self.entries),
            "id": rid,
            "status": entry.line.get("status"),
            "task": entry.task,
            "error": entry.line.get("error"),
            "attempts": entry.line.get("attempts"),
            "audit": entry.line.get("audit"),
            "flags": entry.flags,
            "review": self.status_of(entry),
            "items": [
                {
                    "path": i.path,
                    "label": i.label,
                    "value": i.value,
                    "origin": i.origin,
                    "cites": i.cites,
                }
                for i in entry.items
            ],
            "decisions": self.decided.get(rid, {}),
            "source": source_view(path, record_id=rid),
        }
