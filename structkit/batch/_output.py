"""The durable output file: whole JSON lines, fsynced per batch; what is already done on resume."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import (
    ConfigurationError,
    StructkitError,
)
from ..adapters._ids import IdSet, id_digest

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    pass

from ._common import Line


def _encode(line: Line) -> bytes:
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (undecodable input bytes): escape it
        return (json.dumps(line, separators=(",", ":")) + "\n").encode("ascii")


def _error(exc: StructkitError) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _scan_output(path: Path, *, dry_run: bool) -> tuple[IdSet, set[bytes]]:
    """Finished ids, and ids whose last line is an error; drops a partial last line.

    A dry run starts its output afresh, but never over real results.
    """
    finished, failed = IdSet(), set[bytes]()
    if path.is_dir():
        raise ConfigurationError(f"the output {path.name!r} is a folder; give a file")
    if not path.exists():
        return finished, failed
    end, statuses = 0, set()
    with open(path, "r+b") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                break  # the partial last line of a crashed run
            end += len(raw)
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                rid, status = line["id"], line["status"]
                if not isinstance(rid, str) or status not in ("ok", "error", "dry-run"):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise ConfigurationError(
                    f"{path.name} line {number} is not a batch output line; the file is not a "
                    "structkit batch output, or was edited: fix or remove that line"
                ) from None
            statuses.add(status)
            digest = id_digest(rid)
            if digest not in finished:  # a retried id has several lines
                finished.add(digest)
            if status == "error":
                failed.add(digest)
            else:
                failed.discard(digest)
        if dry_run and statuses - {"dry-run"}:
            raise ConfigurationError(f"{path.name} holds results; give a dry run another file")
        if not dry_run and "dry-run" in statuses:
            raise ConfigurationError(f"{path.name} holds a dry run; give the job another file")
        if dry_run or end < handle.seek(0, os.SEEK_END):
            handle.truncate(0 if dry_run else end)
            os.fsync(handle.fileno())
    return (IdSet(), set()) if dry_run else (finished, failed)


class _Writer:
    """Appends complete lines, each in one ``write()``; ``sync`` makes them durable."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, line: Line) -> None:
        data = memoryview(_encode(line))
        while data:  # a regular file takes the whole line; loop only for the odd short write
            data = data[os.write(self._fd, data) :]

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)
